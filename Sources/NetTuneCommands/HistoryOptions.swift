import ArgumentParser
import Foundation
import NetTune

/// `--history PATH`: where probe and A/B results are kept.
struct HistoryOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The history file (default: $XDG_STATE_HOME/nettune/history.jsonl or ~/.local/state/nettune/history.jsonl).",
            valueName: "path"), completion: .file(extensions: ["jsonl"]))
    var history: String?

    func store() throws -> HistoryStore {
        HistoryStore(
            path: try history.map { try AtomicFile.absolute($0) }
                ?? HistoryStore.defaultPath(environment: ProcessInfo.processInfo.environment))
    }
}
