import ArgumentParser
import Foundation
import NetTune

extension NetTuneCommand {
    struct History: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List past probe results with the tuning they ran under."
        )

        @Option(name: .long, help: ArgumentHelp("Only results for this peer.", valueName: "host:port"), transform: Parse.endpoint)
        var peer: Endpoint?

        @Option(
            name: .long,
            help: ArgumentHelp(
                "The history file (default: $XDG_STATE_HOME/nettune/history.jsonl or ~/.local/state/nettune/history.jsonl).", valueName: "path"))
        var history: String?

        @OptionGroup var output: OutputOptions

        func run() throws {
            let store = HistoryStore(
                path: try history.map { try AtomicFile.absolute($0) }
                    ?? HistoryStore.defaultPath(environment: ProcessInfo.processInfo.environment))
            let entries = try store.entries().filter { peer == nil || $0.peer == peer?.description }
            if output.json {
                print(try JSONOutput.encode(entries))
                return
            }
            guard !entries.isEmpty else {
                print("No probe results in \(store.path) yet.")
                return
            }
            var rows = [["TIME", "PEER", "METHOD", "WAY", "SIZE", "THROUGHPUT", "RUNS", "BOTTLENECK", "TUNING"]]
            for entry in entries {
                let way = entry.direction + (entry.streams > 1 ? " ×\(entry.streams)" : "")
                rows.append([
                    ProbeTable.timestamp(entry.time), entry.peer, entry.method, way, ByteCount(entry.bytes).description,
                    Statistics.median(entry.throughputs).map { BitRate(bitsPerSecond: $0).description } ?? "-",
                    String(entry.throughputs.count), entry.bottleneck ?? "-",
                    "\(entry.fingerprint.label) (\(entry.fingerprintID))"
                ])
            }
            print(TextTable.render(rows, indent: ""), terminator: "")
        }
    }
}
