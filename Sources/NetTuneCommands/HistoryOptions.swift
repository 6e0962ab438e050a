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

    /// Says on stderr what of the history was left out, so a damaged or doctored
    /// file does not pass for a short history, nor a huge one for a complete one.
    static func warn(about contents: HistoryStore.Contents, in store: HistoryStore) {
        if contents.olderLeftOut {
            StandardError.print(
                "note: \(store.path) is larger than \(ByteCount(HistoryStore.sizeLimit)); only its newest \(ByteCount(HistoryStore.sizeLimit)) are read "
                    + "(move it aside to start a new one: the next probe creates it)")
        }
        let skipped = contents.skipped
        guard skipped > 0 else { return }
        StandardError.print(
            "warning: skipped \(skipped) line\(skipped == 1 ? "" : "s") of \(store.path) that \(skipped == 1 ? "is" : "are") not a nettune result "
                + "(damaged, or holding figures no measurement gives)")
    }
}
