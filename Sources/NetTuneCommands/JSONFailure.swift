import ArgumentParser

/// A command asked for JSON fails with JSON too, as `iperf3 -J` does: a script
/// reading stdout gets `{"error": …, "exit_status": …}` instead of nothing. The
/// message still goes to stderr for a person.
protocol JSONResultCommand {
    /// How this invocation writes JSON; nil when it does not.
    var jsonStyle: JSONFailure.Style? { get }
}

/// A failure a command words itself: its line goes to stderr as it is (not as
/// "Error: …"), its message into the JSON, and the process exits with its status.
struct WordedFailure: Error {
    var line: String
    var message: String
    var exitStatus: Int32

    init(line: String, message: String? = nil, exitStatus: Int32) {
        self.line = line
        self.message = message ?? line
        self.exitStatus = exitStatus
    }
}

enum JSONFailure {
    enum Style {
        /// One pretty-printed document (`--json`).
        case document
        /// One compact line among others (`serve --json`); `type` set for streams
        /// whose lines carry one (`probe --json-stream`: "error").
        case line(type: String?)
    }

    struct Body: Encodable {
        var type: String?
        var error: String
        var exitStatus: Int32

        enum CodingKeys: String, CodingKey {
            case type, error
            case exitStatus = "exit_status"
        }
    }

    /// The JSON for a failure, or nil for an empty message. (A bare `ExitCode` never
    /// gets here: the command printed its result and chose the status, as `verify`
    /// that differs and `try` that reverted do.)
    static func text(for message: String, exitStatus: Int32, style: Style) -> String? {
        guard !message.isEmpty else { return nil }
        switch style {
        case .document:
            return try? JSONOutput.encode(Body(error: message, exitStatus: exitStatus))
        case .line(let type):
            return try? JSONOutput.encodeLine(Body(type: type, error: message, exitStatus: exitStatus))
        }
    }
}

extension NetTuneCommand.Show: JSONResultCommand { var jsonStyle: JSONFailure.Style? { output.json ? .document : nil } }
extension NetTuneCommand.Profiles.List: JSONResultCommand { var jsonStyle: JSONFailure.Style? { output.json ? .document : nil } }
extension NetTuneCommand.Profiles.Show: JSONResultCommand { var jsonStyle: JSONFailure.Style? { output.json ? .document : nil } }
extension NetTuneCommand.Apply: JSONResultCommand { var jsonStyle: JSONFailure.Style? { output.json ? .document : nil } }
extension NetTuneCommand.Revert: JSONResultCommand { var jsonStyle: JSONFailure.Style? { output.json ? .document : nil } }
extension NetTuneCommand.Verify: JSONResultCommand { var jsonStyle: JSONFailure.Style? { output.json ? .document : nil } }
extension NetTuneCommand.Try: JSONResultCommand { var jsonStyle: JSONFailure.Style? { output.json ? .document : nil } }
extension NetTuneCommand.History: JSONResultCommand { var jsonStyle: JSONFailure.Style? { output.json ? .document : nil } }
extension NetTuneCommand.Recommend: JSONResultCommand { var jsonStyle: JSONFailure.Style? { output.json ? .document : nil } }
extension NetTuneCommand.Serve: JSONResultCommand { var jsonStyle: JSONFailure.Style? { output.json ? .line(type: nil) : nil } }
extension NetTuneCommand.Probe: JSONResultCommand {
    var jsonStyle: JSONFailure.Style? { jsonStream ? .line(type: "error") : output.json ? .document : nil }
}
