import Glibc
import Synchronization
import SystemPackage

/// The first signal received since `Interruption.install`, 0 for none. A C signal
/// handler cannot capture context, so this and the pipe's write end are globals,
/// set before the handlers are installed; the handler only does async-signal-safe
/// things with them (an atomic store and a write).
private let receivedSignal = Atomic<Int32>(0)
nonisolated(unsafe) private var interruptionWriteEnd: Int32 = -1

/// Ctrl-C, `kill` and a closed terminal turned into a condition every wait can see.
///
/// Once a signal arrives the pipe's read end stays readable (the byte is never
/// taken out), so a `poll` anywhere — a send stalled on a full socket, a wait for a
/// reply, the wait for confirmation — returns at once and the operation ends
/// through the same path as a timeout, which reverts what must be reverted.
public final class Interruption: Sendable {
    /// Readable once the process is interrupted.
    public let fd: Int32
    private let writeEnd: Int32
    private let signals: [Int32]

    /// The signals that end a measurement or a `try` wait. SIGQUIT (Ctrl-\) too:
    /// by default it kills at once, which in an A/B test or a `try` would leave the
    /// profile under test applied.
    public static let terminating: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT]

    private init(readEnd: Int32, writeEnd: Int32, signals: [Int32]) {
        fd = readEnd
        self.writeEnd = writeEnd
        self.signals = signals
    }

    /// Catches `signals` from now on (one `Interruption` per process at a time).
    public static func install(_ signals: [Int32] = terminating) throws(Errno) -> Interruption {
        let interruption = try makePipe(signals: signals)
        receivedSignal.store(0, ordering: .sequentiallyConsistent)
        interruptionWriteEnd = interruption.writeEnd
        for number in signals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in
                _ = receivedSignal.compareExchange(expected: 0, desired: number, ordering: .sequentiallyConsistent)
                // Raw write(2), not `Syscall`: only async-signal-safe calls belong here.
                var byte = UInt8(truncatingIfNeeded: number)
                _ = write(interruptionWriteEnd, &byte, 1)
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = 0
            sigaction(number, &action, nil)
        }
        // A blocked signal would never reach the handler.
        SignalMask.unblockTermination()
        return interruption
    }

    /// An interruption no signal triggers, only `trigger` (tests, and callers that
    /// want a deadline but no signal handling).
    public static func manual() throws(Errno) -> Interruption {
        try makePipe(signals: [])
    }

    private static func makePipe(signals: [Int32]) throws(Errno) -> Interruption {
        let ends = try Syscall.pipe(nonBlocking: true)
        return Interruption(readEnd: ends.read, writeEnd: ends.write, signals: signals)
    }

    deinit {
        for number in signals { Glibc.signal(number, SIG_DFL) }
        if !signals.isEmpty { interruptionWriteEnd = -1 }
        Syscall.close(fd)
        Syscall.close(writeEnd)
    }

    /// Marks the interruption as if `signal` had arrived.
    public func trigger(_ signal: Int32) {
        _ = manualSignal.compareExchange(expected: 0, desired: signal, ordering: .sequentiallyConsistent)
        var byte = UInt8(truncatingIfNeeded: signal)
        _ = try? Syscall.call { write(writeEnd, &byte, 1) }
    }

    // An atomic, not a lock: every bulk call of a transfer reads it.
    private let manualSignal = Atomic<Int32>(0)

    /// The signal that interrupted, or nil while none has.
    public var signal: Int32? {
        let manual = manualSignal.load(ordering: .sequentiallyConsistent)
        if manual != 0 { return manual }
        guard !signals.isEmpty else { return nil }
        let number = receivedSignal.load(ordering: .sequentiallyConsistent)
        return number == 0 ? nil : number
    }

    /// Throws `Interrupted` once a signal has arrived.
    public func check() throws(Interrupted) {
        if let signal { throw Interrupted(signal: signal) }
    }
}

/// An operation ended by a signal. Commands exit with 128 + the signal's number,
/// as shells report a process killed by it.
public struct Interrupted: Error, Equatable, CustomStringConvertible {
    public var signal: Int32
    public init(signal: Int32) { self.signal = signal }
    public var exitCode: Int32 { 128 + signal }
    public var description: String { "interrupted (\(signalName))" }
    /// SIGINT, SIGTERM, SIGHUP, SIGQUIT, or "signal N".
    public var signalName: String {
        switch signal {
        case SIGINT: "SIGINT"
        case SIGTERM: "SIGTERM"
        case SIGHUP: "SIGHUP"
        case SIGQUIT: "SIGQUIT"
        default: "signal \(signal)"
        }
    }
}
