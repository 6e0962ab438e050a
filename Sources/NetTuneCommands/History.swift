import ArgumentParser
import Foundation
import NetTune

extension NetTuneCommand {
    struct History: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List past probe and A/B results with the tuning they ran under."
        )

        @Option(
            name: .long,
            help: ArgumentHelp(
                "Only results for this peer: HOST (every port), HOST:PORT, or iperf3://HOST[:PORT].", valueName: "peer"))
        var peer: String?

        enum Format: String, ExpressibleByArgument, CaseIterable {
            case table, json, openmetrics
        }

        @Option(
            name: .long,
            help: ArgumentHelp(
                "table, json (as --json), or openmetrics: the latest result of each series as gauges for Prometheus.",
                valueName: "format"))
        var format: Format = .table

        @Option(
            name: .long,
            help: ArgumentHelp(
                "Write the openmetrics text to DIR/nettune.prom atomically, for node_exporter's textfile collector.",
                valueName: "dir"), completion: .directory)
        var textfile: String?

        @OptionGroup var history: HistoryOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            if let peer { _ = try Parse.endpoint(peer) }
            if output.json && format != .table && format != .json { throw ValidationError("give either --json or --format") }
        }

        func run() throws {
            let store = try history.store()
            let contents = try peer.map { try store.read(forPeer: $0) } ?? store.read()
            HistoryOptions.warn(about: contents, in: store)
            let entries = contents.entries
            if let textfile {
                let directory = try AtomicFile.absolute(textfile)
                try AtomicFile.write(Array(HistoryMetrics.render(entries).utf8), to: directory.appending("nettune.prom"))
                return
            }
            if format == .openmetrics {
                print(HistoryMetrics.render(entries), terminator: "")
                return
            }
            if output.json || format == .json {
                print(try JSONOutput.encode(entries))
                return
            }
            guard !entries.isEmpty else {
                let all = try store.entries()
                if let peer, !all.isEmpty {
                    let peers = Array(Set(all.map(\.peer))).sorted().joined(separator: ", ")
                    StandardError.print("No results for \(peer) in \(store.path); it has results for: \(peers)")
                    throw ExitCode(1)
                }
                print("No probe results in \(store.path) yet.")
                return
            }
            print(HistoryTable.render(entries), terminator: "")
        }
    }
}
