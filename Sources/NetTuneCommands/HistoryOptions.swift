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

    /// Says on stderr how many lines of the history were left out, so a damaged or
    /// doctored file does not pass for a short history.
    static func warnSkipped(_ skipped: Int, in store: HistoryStore) {
        guard skipped > 0 else { return }
        StandardError.print(
            "warning: skipped \(skipped) line\(skipped == 1 ? "" : "s") of \(store.path) that \(skipped == 1 ? "is" : "are") not a nettune result "
                + "(damaged, or holding figures no measurement gives)")
    }
}
