/// A progress line on a terminal's stderr, redrawn in place; nothing at all when
/// stderr is not a terminal, so piped and logged runs stay clean.
struct ProgressLine {
    let enabled = StandardError.isTerminal

    func show(_ text: String) {
        if enabled { StandardError.writeIfReady("\r\u{1B}[K" + text) }
    }

    func clear() {
        if enabled { StandardError.writeIfReady("\r\u{1B}[K") }
    }

    /// Runs `body`, which shows progress here, and clears the line however it ends.
    func around<T>(_ body: () throws -> T) rethrows -> T {
        defer { clear() }
        return try body()
    }
}
