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

        @OptionGroup var history: HistoryOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            if let peer { _ = try Parse.endpoint(peer) }
        }

        func run() throws {
            let store = try history.store()
            let entries = try peer.map { try store.entries(forPeer: $0) } ?? store.entries()
            if output.json {
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
