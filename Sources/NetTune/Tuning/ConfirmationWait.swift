import Glibc

/// How a `nettune try` wait ended.
public enum ConfirmationOutcome: Equatable, Sendable {
    case confirmed(by: String)
    case timedOut
    case interrupted(signal: Int32)
}

/// Waits for a person to keep a `try`: Enter on the terminal, or `nettune confirm`
/// from another shell (which creates `confirmationFile`). SIGINT, SIGTERM and
/// SIGHUP end the wait so the caller can revert, as netplan try does.
public struct ConfirmationWait {
    public var timeout: Duration
    public var confirmationFile: String
    /// Watch standard input for Enter (only when it is a terminal).
    public var watchTerminal: Bool

    public init(timeout: Duration, confirmationFile: String, watchTerminal: Bool) {
        self.timeout = timeout
        self.confirmationFile = confirmationFile
        self.watchTerminal = watchTerminal
    }

    /// - Parameters:
    ///   - signals: installed by the caller before it changed anything, so a signal
    ///     that arrived earlier is seen here at once.
    ///   - tick: called about every second with the time left.
    public func wait(signals: SignalPipe?, tick: (Duration) -> Void = { _ in }) -> ConfirmationOutcome {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var watchingTerminal = watchTerminal
        var lastTick = clock.now - .seconds(1)
        while true {
            if TextFile.exists(confirmationFile) { return .confirmed(by: "nettune confirm") }
            let now = clock.now
            if now >= deadline { return .timedOut }
            if now - lastTick >= .seconds(1) {
                tick(deadline - now)
                lastTick = now
            }
            var fds: [pollfd] = []
            if let signals { fds.append(pollfd(fd: signals.readEnd, events: Int16(POLLIN), revents: 0)) }
            if watchingTerminal { fds.append(pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)) }
            let wait = min(deadline - now, .milliseconds(200))
            let ready = poll(&fds, nfds_t(fds.count), Int32(wait.milliseconds))
            guard ready > 0 else { continue }
            for pfd in fds where pfd.revents != 0 {
                if let signals, pfd.fd == signals.readEnd, let signal = signals.take() {
                    return .interrupted(signal: signal)
                }
                if pfd.fd == STDIN_FILENO {
                    var byte: UInt8 = 0
                    let n = read(STDIN_FILENO, &byte, 1)
                    if n == 1 && byte == UInt8(ascii: "\n") { return .confirmed(by: "Enter") }
                    if n <= 0 { watchingTerminal = false }  // EOF: stop watching
                }
            }
        }
    }
}

/// The write end of the self-pipe the signal handler writes to. A C signal handler
/// cannot capture context, so this one global is unavoidable; it is set before the
/// handlers are installed and only read by them.
nonisolated(unsafe) private var signalPipeWriteEnd: Int32 = -1

/// Turns signals into bytes on a pipe that `poll` can wait on, instead of letting
/// them end the process.
public struct SignalPipe {
    let readEnd: Int32
    let writeEnd: Int32
    let signals: [Int32]

    /// The signals that end a `try` wait: Ctrl-C, `kill`, a closed terminal.
    public static let interrupting: [Int32] = [SIGINT, SIGTERM, SIGHUP]

    public static func install(_ signals: [Int32] = interrupting) -> SignalPipe? {
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { return nil }
        for end in ends {
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
        }
        signalPipeWriteEnd = ends[1]
        for number in signals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in
                var byte = UInt8(truncatingIfNeeded: number)
                _ = write(signalPipeWriteEnd, &byte, 1)  // async-signal-safe
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = 0
            sigaction(number, &action, nil)
        }
        // A blocked signal would never reach the handler.
        SignalMask.unblockTermination()
        return SignalPipe(readEnd: ends[0], writeEnd: ends[1], signals: signals)
    }

    public func take() -> Int32? {
        var byte: UInt8 = 0
        return read(readEnd, &byte, 1) == 1 ? Int32(byte) : nil
    }

    public func uninstall() {
        for number in signals { signal(number, SIG_DFL) }
        signalPipeWriteEnd = -1
        close(readEnd)
        close(writeEnd)
    }
}
