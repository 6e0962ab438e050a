/// Acknowledged (send) and received (receive) bytes at each interval boundary,
/// per direction, summed over streams.
struct IntervalSampler {
    let interval: Duration?
    let start: ContinuousClock.Instant
    /// Where a timed run ends: its last interval is closed by the final sample.
    let runEnd: ContinuousClock.Instant?
    let connections: [TCPConnection]
    let message: ProbeRequestMessage
    let streams: StreamSet
    private var next: ContinuousClock.Instant?
    private var last: ContinuousClock.Instant
    private var previous: [ProbeDirection: UInt64] = [:]
    private var collected: [ProbeDirection: [Interval]] = [:]
    private var previousRetransmits: UInt32 = 0

    init(
        interval: Duration?, start: ContinuousClock.Instant, runEnd: ContinuousClock.Instant?, connections: [TCPConnection],
        message: ProbeRequestMessage, streams: StreamSet
    ) {
        self.interval = interval
        self.start = start
        self.runEnd = runEnd
        self.connections = connections
        self.message = message
        self.streams = streams
        next = interval.map { start + $0 }
        last = start
    }

    /// What the receivers have now in `way`: for a stream this machine sends, what
    /// the peer acknowledged (not what was handed to the kernel, which runs ahead of
    /// the link); for one it receives, what arrived in the kernel while the stream
    /// runs (a receiver that gathers reads up to 128 KiB behind it), and what was
    /// read once it has ended (exact, so the intervals add up to the run).
    func current(_ way: ProbeDirection) -> UInt64 {
        var sum: UInt64 = 0
        for (index, connection) in connections.enumerated() where message.direction(ofStream: index) == way {
            if way == .send {
                sum &+= (try? connection.tcpInfo().bytesAcked).flatMap { $0 } ?? 0
            } else {
                let read = streams.moved(index)
                let arrived = streams.isFinished(index) ? nil : (try? connection.tcpInfo())?.payloadBytesReceived
                sum &+= max(read, arrived ?? read)
            }
        }
        return sum
    }

    /// What the receivers have now, over every direction.
    func total() -> UInt64 { message.direction.ways.reduce(0) { $0 &+ current($1) } }

    /// At an interval boundary (or the end) samples the byte counts, closes the
    /// interval of each direction and returns them; before one, reads nothing.
    /// A boundary at or past a timed run's end is left to the final sample: a tick
    /// that wins the race with the streams' end would otherwise close the run's
    /// last second on time and leave a sliver of the tail as one more interval.
    @discardableResult
    mutating func sample(at now: ContinuousClock.Instant, final: Bool = false) -> [DirectedInterval] {
        let ways = message.direction.ways
        guard let interval, let boundary = next, now > last else { return [] }
        guard final || (now >= boundary && runEnd.map { boundary < $0 } ?? true) else { return [] }
        var ended: [DirectedInterval] = []
        for way in ways {
            let value = current(way)
            var closed = Interval(start: (last - start).seconds, end: (now - start).seconds, bytes: value &- previous[way, default: 0])
            if way == .send {
                let infos = connections.indices.filter { message.direction(ofStream: $0) == way }.compactMap { try? connections[$0].tcpInfo() }
                if !infos.isEmpty {
                    let retransmits = infos.reduce(UInt32(0)) { $0 &+ $1.totalRetransmits }
                    closed.retransmits = retransmits &- previousRetransmits
                    previousRetransmits = retransmits
                    closed.congestionWindowBytes = infos.reduce(UInt64(0)) { $0 &+ UInt64($1.sndCwnd) &* UInt64($1.sndMSS) }
                    closed.rttMicroseconds = UInt32(infos.reduce(UInt64(0)) { $0 + UInt64($1.rttMicroseconds) } / UInt64(infos.count))
                }
            }
            collected[way, default: []].append(closed)
            ended.append(DirectedInterval(direction: way, interval: closed))
            previous[way] = value
        }
        last = now
        next = boundary + interval * Int((now - boundary).seconds / interval.seconds + 1)
        return ended
    }

    func intervals(_ way: ProbeDirection) -> [Interval] { collected[way] ?? [] }
}
