import Glibc
import NetTune

/// Messages for people that must not mix with results on stdout.
enum StandardError {
    /// A terminal that stops taking output (Ctrl-S) must not hold up a countdown,
    /// a revert or a signal: see `BoundedWriter`.
    private static let writer = BoundedWriter(writingTo: STDERR_FILENO)

    /// How long a message waits for a terminal or pipe that takes nothing.
    static let patience = Duration.seconds(1)

    static func print(_ text: String) {
        write(text + "\n")
    }

    static func write(_ text: String) {
        writer.write(text, patience: patience)
    }

    /// A progress line is redrawn soon anyway: it goes out now or not at all.
    static func writeIfReady(_ text: String) {
        writer.write(text, patience: .zero)
    }

    /// Progress and prompts belong on a terminal only; piped runs stay quiet.
    static var isTerminal: Bool { isatty(STDERR_FILENO) == 1 }
}
