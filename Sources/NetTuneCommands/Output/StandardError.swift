import Glibc

/// Messages for people that must not mix with results on stdout.
enum StandardError {
    static func print(_ text: String) {
        write(text + "\n")
    }

    /// Without a newline: for a progress line redrawn with `\r`.
    static func write(_ text: String) {
        // write(2) on the descriptor: glibc's `stderr` is a mutable global Swift 6 rejects.
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(STDERR_FILENO, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            offset += n
        }
    }

    /// Progress and prompts belong on a terminal only; piped runs stay quiet.
    static var isTerminal: Bool { isatty(STDERR_FILENO) == 1 }
}
