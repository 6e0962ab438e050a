/// How many bytes one blocking send of a timed stream hands the kernel, and how
/// many may wait unsent in its socket buffer.
///
/// A timed stream stops handing bytes over at its end, but what it handed over
/// still has to cross the link before the receiver sees the stream's end. Two
/// things made that take longer than the run itself on slow links:
/// - A blocking `sendfile` returns once all its bytes are in the socket buffer; the
///   `TransferWait` slice cuts it short only when a single wait for room lasts the
///   whole slice, which from a few Mbit/s up never happens. A fixed 4 MiB call took
///   3.4 s at 10 Mbit/s, and a 3 s run lasted 7.
/// - The kernel grows the send buffer with the congestion window, and fills it:
///   at 1 Mbit/s a megabyte waited unsent, 8 s of the link, and a 3 s run lasted 11.
/// So a slow timed stream hands over, per call, about `span` (or two of the path's
/// round trips, if longer: on a long path the queue must cover what each round trip's
/// acknowledgements let the window send; the minimum, not the smoothed round trip,
/// which a bloated queue stretches to seconds) of what its peer acknowledged per
/// second since the rate was last read, and lets as much wait unsent
/// (TCP_NOTSENT_LOWAT). From about 80 Mbit/s per stream up — `unlimitedFrom` in a
/// tenth of a second — nothing is limited: there a full buffer (4 MiB by tcp_wmem's
/// default) drains in 0.4 s at most, and a limit would only add wake-ups to the
/// runs whose CPU is compared with iperf3's; from 340 Mbit/s up calls are the full
/// 4 MiB. Until a rate is measured, `unmeasured` per call and no limit.
///
/// Not the kernel's `tcpi_delivery_rate`: one sample, and behind a token bucket
/// the first samples are the bucket's burst (gigabits per second on a 1 Mbit/s link).
struct SendChunk {
    static let largest = 4 << 20
    /// A tenth of a second at 84 Mbit/s.
    static let unlimitedFrom = 1 << 20
    /// A sixth of a second at 1 Mbit/s.
    static let smallest = 16 << 10
    /// iperf3's block: a few microseconds on a fast link, a second at 1 Mbit/s.
    static let unmeasured = 128 << 10
    static let span: Duration = .milliseconds(100)
    /// How many nanoseconds acknowledgements are counted before the rate is read
    /// again (50 ms; plain nanoseconds, as the clock reading they are checked against).
    static let recheckNanoseconds: UInt64 = 50_000_000
    /// ... and how many once the stream is too fast to be limited (1 s): a fast
    /// stream has no use for the reading, and its sender's CPU is what runs compare.
    static let recheckFastNanoseconds: UInt64 = 1_000_000_000

    private(set) var size = unmeasured
    /// The unsent limit set on the socket; nil: none.
    private(set) var unsentLimit: Int?
    private var since: (at: MonotonicTime, acked: UInt64)?

    /// The size for a rate of `bytesPerSecond` on a path of `roundTrip`.
    static func size(forRate bytesPerSecond: Double, roundTrip: Duration = .zero) -> Int {
        let bytes = bytesPerSecond * max(span, roundTrip * 2).seconds
        if bytes.isNaN || bytes < Double(smallest) { return smallest }
        return bytes < Double(largest) ? Int(bytes) : largest
    }

    /// Whether the rate is due to be read again (always before the first reading).
    func isDue(_ now: MonotonicTime) -> Bool {
        guard let since else { return true }
        return now.nanoseconds(since: since.at) >= (size >= Self.unlimitedFrom ? Self.recheckFastNanoseconds : Self.recheckNanoseconds)
    }

    /// Takes a reading of the bytes acknowledged so far (`TCP_INFO`; nil where the
    /// kernel does not count them, and the size stays `unmeasured`) and the path's
    /// (minimum) round trip.
    /// - Returns: the unsent limit to set, if it changes (`.some(nil)`: none).
    mutating func update(acked: UInt64?, roundTrip: Duration = .zero, now: MonotonicTime) -> Int?? {
        guard let acked else { return nil }
        guard let since else {
            self.since = (now, acked)
            return nil
        }
        self.since = (now, acked)
        let seconds = Double(now.nanoseconds(since: since.at)) / 1e9
        size = Self.size(forRate: Double(acked &- since.acked) / seconds, roundTrip: roundTrip)
        let wanted = size < Self.unlimitedFrom ? size : nil
        guard wanted != unsentLimit else { return nil }
        unsentLimit = wanted
        return .some(wanted)
    }

    /// The size for a connection's next call, its counter read and its unsent limit
    /// set when due.
    mutating func next(_ connection: TCPConnection, now: MonotonicTime = .now) -> Int {
        guard isDue(now) else { return size }
        let info = try? connection.tcpInfo()
        let roundTrip = Duration.microseconds(info?.minRTTMicroseconds ?? 0)
        if let limit = update(acked: info?.bytesAcked, roundTrip: roundTrip, now: now) { connection.setUnsentLimit(limit) }
        return size
    }
}
