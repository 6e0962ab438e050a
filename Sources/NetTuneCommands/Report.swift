import ArgumentParser
import Foundation
import NetTune

extension NetTuneCommand {
    struct Report: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write one self-contained HTML page with charts of an A/B test, a probe and the history.",
            discussion: """
                Inline SVG and CSS only: no script, nothing fetched, so the file can be \
                mailed and opened anywhere. --ab takes what `apply --probe --json` wrote, \
                --probe what `probe --json` wrote.
                """
        )

        @Option(
            name: .long, help: ArgumentHelp("The output of `apply PROFILE --probe HOST --json`.", valueName: "file"),
            completion: .file(extensions: ["json"]))
        var ab: String?

        @Option(name: .long, help: ArgumentHelp("The output of `probe HOST --json`.", valueName: "file"), completion: .file(extensions: ["json"]))
        var probe: String?

        @Flag(name: .long, help: "Leave the history out.")
        var noHistory = false

        @OptionGroup var history: HistoryOptions

        @Option(
            name: [.customShort("o"), .long], help: ArgumentHelp("Where to write the page.", valueName: "file"),
            completion: .file(extensions: ["html"]))
        var output: String

        func run() throws {
            let abInput = try ab.map(ReportInputs.ab(at:))
            let probeInput = try probe.map(ReportInputs.probe(at:))
            var entries: [HistoryEntry] = []
            if !noHistory {
                let store = try history.store()
                let contents = try store.read()
                HistoryOptions.warn(about: contents, in: store)
                entries = contents.entries
            }
            let page = HTMLReport.render(ab: abInput, probe: probeInput, history: entries, generated: Date())
            try AtomicFile.write(Array(page.utf8), to: try AtomicFile.absolute(output))
        }
    }
}
