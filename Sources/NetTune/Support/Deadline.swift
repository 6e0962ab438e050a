import Glibc
import SystemPackage

/// When a blocking operation must give up, and what can end it sooner. Every wait
/// on a socket, a lock or a person goes through `Deadline.wait`, so a timeout and a
/// signal end an operation the same way.
public struct Deadline: Sendable {
    /// nil: no time limit (only the interruption ends the wait).
    public var instant: ContinuousClock.Instant?
    public var interruption: Interruption?

    public init(_ instant: ContinuousClock.Instant?, interruption: Interruption? = nil) {
        self.instant = instant
        self.interruption = interruption
    }

    public static func after(_ duration: Duration, interruption: Interruption? = nil) -> Deadline {
        Deadline(ContinuousClock.now + duration, interruption: interruption)
    }

    /// The same interruption, with whichever time limit comes first.
    public func capped(at other: ContinuousClock.Instant) -> Deadline {
        Deadline(instant.map { min($0, other) } ?? other, interruption: interruption)
    }

    public func capped(after duration: Duration) -> Deadline { capped(at: .now + duration) }

    public var hasPassed: Bool { hasPassed(at: .now) }

    /// Whether the deadline had passed at `now` (for a caller that has read the clock).
    public func hasPassed(at now: ContinuousClock.Instant) -> Bool { instant.map { now >= $0 } ?? false }

    /// Throws `Interrupted` if a signal has arrived.
    public func checkInterruption() throws(Interrupted) {
        try interruption?.check()
    }

    /// Waits until `fd` reports one of `events`.
    /// - Returns: true when the descriptor is ready (or has an error or hang-up the
    ///   next call on it will report), false when the deadline passed first.
    /// - Throws: `Interrupted` on a signal, `Errno` when poll itself fails.
    public func wait(for events: Int16, on fd: Int32) throws -> Bool {
        while true {
            try checkInterruption()
            var fds = [pollfd(fd: fd, events: events, revents: 0)]
            if let interruption { fds.append(pollfd(fd: interruption.fd, events: Int16(POLLIN), revents: 0)) }
            let ready = try Syscall.call { () -> Int32 in
                // A deadline that has passed still looks once, without waiting:
                // `Deadline.after(.zero)` asks "is it ready now?".
                let timeout = instant.map { Int32(clamping: max(.zero, $0 - ContinuousClock.now).millisecondsRoundedUp) } ?? -1
                return poll(&fds, nfds_t(fds.count), timeout)
            }
            if fds[0].revents != 0 { return true }
            if ready == 0 && hasPassed { return false }
            // Otherwise the interruption fired (checked at the top) or poll woke early.
        }
    }

    /// Waits until any of `fds` is readable.
    /// - Returns: the indices of the ready ones; empty when the deadline passed first.
    public func waitReadable(_ fds: [Int32]) throws -> [Int] {
        while true {
            try checkInterruption()
            var polled = fds.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            if let interruption { polled.append(pollfd(fd: interruption.fd, events: Int16(POLLIN), revents: 0)) }
            let ready = try Syscall.call { () -> Int32 in
                let timeout = instant.map { Int32(clamping: max(.zero, $0 - ContinuousClock.now).millisecondsRoundedUp) } ?? -1
                return poll(&polled, nfds_t(polled.count), timeout)
            }
            let indices = polled.prefix(fds.count).indices.filter { polled[$0].revents != 0 }
            if !indices.isEmpty { return indices }
            if ready == 0 && hasPassed { return [] }
        }
    }

    /// Waits until the deadline or the interruption, whichever comes first.
    /// - Throws: `Interrupted`.
    public func sleep() throws {
        // poll ignores a negative descriptor: this waits on the interruption alone.
        _ = try wait(for: 0, on: -1)
    }
}

extension Duration {
    /// Whole milliseconds, rounded up so a wait never ends just before its deadline.
    var millisecondsRoundedUp: Int64 {
        let (seconds, attoseconds) = components
        let (ms, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        if overflow { return seconds < 0 ? Int64.min : Int64.max }
        return ms &+ (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
    }
}
