import Glibc

/// How a `nettune try` wait ended.
public enum ConfirmationOutcome: Equatable, Sendable {
    case confirmed(by: String)
    case timedOut
    case interrupted(signal: Int32)
}

/// Waits for a person to keep a `try`: Enter on the terminal, or `nettune confirm`
/// from another shell (which marks the `TryMarker` confirmed). A signal ends the
/// wait so the caller can revert, as netplan try does.
public struct ConfirmationWait: Sendable {
    public var timeout: Duration
    public var marker: TryMarker
    /// A terminal to watch for Enter (standard input when it is one), or nil.
    public var terminal: Int32?

    public init(timeout: Duration, marker: TryMarker, terminal: Int32?) {
        self.timeout = timeout
        self.marker = marker
        self.terminal = terminal
    }

    /// How often the marker is looked at between other events.
    static let pollInterval: Duration = .milliseconds(100)

    /// - Parameter tick: called about every second with the time left.
    public func wait(interruption: Interruption?, tick: (Duration) -> Void = { _ in }) throws -> ConfirmationOutcome {
        let deadline = ContinuousClock.now + timeout
        var terminal = self.terminal
        var lastTick: ContinuousClock.Instant?
        while true {
            if let signal = interruption?.signal { return .interrupted(signal: signal) }
            if marker.state() == .confirmed { return .confirmed(by: "nettune confirm") }
            let now = ContinuousClock.now
            if now >= deadline { return .timedOut }
            if lastTick.map({ now - $0 >= .seconds(1) }) ?? true {
                tick(deadline - now)
                lastTick = now
            }
            let slice = Deadline(min(deadline, now + Self.pollInterval), interruption: interruption)
            do {
                // In the background (`try … &`) the terminal's input is the shell's, and
                // reading it would stop this process (SIGTTIN) with the profile applied.
                guard let fd = terminal, Syscall.isForegroundProcessGroup(ofTerminal: fd) else {
                    try slice.sleep()
                    continue
                }
                guard try slice.wait(for: Int16(POLLIN), on: fd) else { continue }
                switch Self.readByte(from: fd) {
                case .byte(UInt8(ascii: "\n")):
                    try marker.confirm()
                    return .confirmed(by: "Enter")
                case .byte:
                    continue
                case .nothing:
                    try slice.sleep()  // no spinning on a terminal that reads nothing
                case .ended:
                    terminal = nil  // end of input or an error: stop watching
                }
            } catch let error as Interrupted {
                return .interrupted(signal: error.signal)
            }
        }
    }

    private enum ReadOutcome: Equatable {
        case byte(UInt8)
        /// Nothing to read after all, or put in the background between the
        /// foreground check and the read (SIGTTIN ignored: EIO): look again.
        case nothing
        case ended
    }

    private static func readByte(from fd: Int32) -> ReadOutcome {
        var byte: UInt8 = 0
        do {
            return try Syscall.call { read(fd, &byte, 1) } == 1 ? .byte(byte) : .ended
        } catch .ioError, .wouldBlock {
            return .nothing
        } catch {
            return .ended
        }
    }
}
