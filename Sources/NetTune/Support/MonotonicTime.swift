import Glibc

/// A moment on the clock `ContinuousClock` reads on Linux (CLOCK_BOOTTIME), as
/// whole nanoseconds: for the bulk loops, which read the clock on every call.
///
/// `ContinuousClock.Instant` is resilient outside the standard library, so reading
/// one, comparing two, or keeping one in an Optional or a tuple goes through the
/// runtime's metadata and value-witness calls, each cold after a `sendfile`. In a
/// sending thread's user time those calls were most of it (`perf`, 6 s runs behind a
/// 1 Gbit/s shaper: 169–192 user samples; with plain nanoseconds 64–95; iperf3's whole
/// process 56–72), and the sender's CPU per GiB fell 7–14 % (README, "Performance").
struct MonotonicTime: Comparable, Sendable {
    var nanoseconds: UInt64

    init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }

    static var now: MonotonicTime {
        var reading = timespec()
        // A vDSO read on Linux: no system call, and for this clock it cannot fail.
        _ = try? Syscall.call { clock_gettime(CLOCK_BOOTTIME, &reading) }
        return MonotonicTime(nanoseconds: UInt64(max(0, reading.tv_sec)) &* 1_000_000_000 &+ UInt64(max(0, reading.tv_nsec)))
    }

    /// The moment `instant` names.
    init(_ instant: ContinuousClock.Instant) {
        let (continuous, now) = Self.readBoth()
        let ahead = instant - continuous
        if ahead >= .zero {
            self = now.advanced(by: ahead)
        } else {
            self.init(nanoseconds: now.nanoseconds &- min(now.nanoseconds, Self.nanoseconds(in: .zero - ahead)))
        }
    }

    /// The same moment as a `ContinuousClock.Instant`, for the figures reported.
    var instant: ContinuousClock.Instant {
        let (continuous, now) = Self.readBoth()
        let since = Duration.nanoseconds(Int64(clamping: now.nanoseconds(since: self)))
        let until = Duration.nanoseconds(Int64(clamping: nanoseconds(since: now)))
        return continuous - since + until
    }

    /// Both clocks at about the same moment: read again (up to four times) while the
    /// readings lie more than 10 µs apart, as when the thread was switched out
    /// between them, so a conversion is not off by a scheduler's time slice.
    private static func readBoth() -> (ContinuousClock.Instant, MonotonicTime) {
        var best: (ContinuousClock.Instant, MonotonicTime)?
        var bestSpread = Duration.seconds(1)
        for _ in 0..<4 {
            let before = ContinuousClock.now
            let monotonic = MonotonicTime.now
            let spread = ContinuousClock.now - before
            if best == nil || spread < bestSpread { (best, bestSpread) = ((before + spread / 2, monotonic), spread) }
            if spread < .microseconds(10) { break }
        }
        return best ?? (ContinuousClock.now, MonotonicTime.now)
    }

    func advanced(by duration: Duration) -> MonotonicTime {
        let (sum, overflow) = nanoseconds.addingReportingOverflow(Self.nanoseconds(in: duration))
        return MonotonicTime(nanoseconds: overflow ? .max : sum)
    }

    /// Nanoseconds from `earlier` to this moment; 0 if `earlier` is not earlier.
    func nanoseconds(since earlier: MonotonicTime) -> UInt64 { nanoseconds &- min(nanoseconds, earlier.nanoseconds) }

    /// A duration's whole nanoseconds: 0 for a negative one, `.max` for one too long to count.
    static func nanoseconds(in duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0, attoseconds >= 0 else { return 0 }
        let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return .max }
        let (sum, overflowed) = whole.addingReportingOverflow(UInt64(attoseconds / 1_000_000_000))
        return overflowed ? .max : sum
    }

    static func < (lhs: MonotonicTime, rhs: MonotonicTime) -> Bool { lhs.nanoseconds < rhs.nanoseconds }
}
