/// One stream of a run, as measured where its bytes arrived.
public struct StreamResult: Sendable, Equatable {
    public var index: Int
    public var bytes: UInt64
    /// From the start signal to this stream's last byte at the receiver.
    public var seconds: Double
    /// The sender's TCP_INFO at the end (nil where the sender could not say).
    public var tcpInfo: TCPInfo?
    public var sendBufferBytes: Int
    public var receiveBufferBytes: Int

    public init(index: Int, bytes: UInt64, seconds: Double, tcpInfo: TCPInfo?, sendBufferBytes: Int, receiveBufferBytes: Int) {
        self.index = index
        self.bytes = bytes
        self.seconds = seconds
        self.tcpInfo = tcpInfo
        self.sendBufferBytes = sendBufferBytes
        self.receiveBufferBytes = receiveBufferBytes
    }

    public var throughputBitsPerSecond: Double { seconds > 0 ? Double(bytes) * 8 / seconds : 0 }
}

/// Which end of the connection a figure came from.
public enum ProbeEnd: String, Sendable, Codable {
    /// This machine, where nettune runs.
    case local
    /// The server at the other end.
    case peer
    /// Nobody: the sender was an iperf3 server, which does not report TCP_INFO.
    case unavailable = "none"
}

/// One direction of one measured run: one stream or several in parallel.
public struct RunResult: Sendable, Equatable {
    public var method: ProbeMethod
    /// `.send` (this machine sent) or `.receive`.
    public var direction: ProbeDirection
    /// Payload bytes the receiver counted, over all streams.
    public var bytes: UInt64
    /// From the start to the receiver's last byte of the slowest stream.
    public var seconds: Double
    public var sender: CPUUsage
    public var receiver: CPUUsage
    /// The sender's TCP_INFO: with several streams, the most limited stream's, with
    /// retransmits summed over all of them.
    public var tcpInfo: TCPInfo
    /// Whose TCP_INFO that is: this machine's when it sent, the server's when it did.
    public var tcpInfoFrom: ProbeEnd
    public var streams: [StreamResult]
    public var intervals: [Interval]
    public var congestion: String?
    /// SO_SNDBUF of the (most limited) sender's socket at the end (read, never set).
    public var sendBufferBytes: Int
    /// SO_RCVBUF of the receiver's socket when it was accepted.
    public var receiveBufferBytes: Int

    public init(
        method: ProbeMethod, direction: ProbeDirection = .send, bytes: UInt64, seconds: Double, sender: CPUUsage,
        receiver: CPUUsage, tcpInfo: TCPInfo, tcpInfoFrom: ProbeEnd = .local, streams: [StreamResult] = [],
        intervals: [Interval], congestion: String?, sendBufferBytes: Int, receiveBufferBytes: Int
    ) {
        self.method = method
        self.direction = direction
        self.bytes = bytes
        self.seconds = seconds
        self.sender = sender
        self.receiver = receiver
        self.tcpInfo = tcpInfo
        self.tcpInfoFrom = tcpInfoFrom
        self.streams = streams
        self.intervals = intervals
        self.congestion = congestion
        self.sendBufferBytes = sendBufferBytes
        self.receiveBufferBytes = receiveBufferBytes
    }

    public var throughputBitsPerSecond: Double { seconds > 0 ? Double(bytes) * 8 / seconds : 0 }

    /// CPU-seconds per GiB moved ("service demand", as netperf calls it), from the
    /// process's own getrusage: the meter iperf3 uses.
    public var senderCPUSecondsPerGiB: Double { perGiB(sender.processSeconds) }
    public var receiverCPUSecondsPerGiB: Double { perGiB(receiver.processSeconds) }

    private func perGiB(_ seconds: Double) -> Double {
        bytes > 0 ? seconds / (Double(bytes) / Double(1 << 30)) : 0
    }

    /// Jain's fairness index of the streams' throughputs: 1 when all are equal,
    /// 1/n when one stream got everything. nil for a single stream.
    public var fairness: Double? {
        let rates = streams.map(\.throughputBitsPerSecond)
        guard rates.count > 1 else { return nil }
        let sum = rates.reduce(0, +)
        let squares = rates.reduce(0) { $0 + $1 * $1 }
        return squares > 0 ? sum * sum / (Double(rates.count) * squares) : nil
    }

    /// The sender's view over all streams: the stream whose busy time was most
    /// limited by the window or the buffer (the one that tells what held the
    /// transfer back), with the retransmits of all streams.
    static func aggregate(_ infos: [(TCPInfo, sendBuffer: Int)]) -> (TCPInfo, sendBuffer: Int) {
        func limited(_ info: TCPInfo) -> Double {
            guard let busy = info.busyMicroseconds, busy > 0 else { return 0 }
            return Double(max(info.rwndLimitedMicroseconds ?? 0, info.sndbufLimitedMicroseconds ?? 0)) / Double(busy)
        }
        // Equally limited streams (often none at all): the one busy longest speaks for them.
        guard var worst = infos.max(by: { (limited($0.0), $0.0.busyMicroseconds ?? 0) < (limited($1.0), $1.0.busyMicroseconds ?? 0) })
        else { return (TCPInfo(kernelBytes: []), 0) }
        worst.0.totalRetransmits = infos.reduce(0) { $0 &+ $1.0.totalRetransmits }
        worst.0.bytesRetransmitted = infos.reduce(UInt64(0)) { $0 &+ ($1.0.bytesRetransmitted ?? 0) }
        worst.0.bytesAcked = infos.reduce(UInt64(0)) { $0 &+ ($1.0.bytesAcked ?? 0) }
        worst.0.deliveryRate = infos.reduce(UInt64(0)) { $0 &+ ($1.0.deliveryRate ?? 0) }
        return worst
    }
}

/// Bytes acknowledged (sending) or received (receiving) during one interval of a run.
public struct Interval: Sendable, Equatable {
    public var start: Double
    public var end: Double
    public var bytes: UInt64
    /// What this machine's sending streams' TCP_INFO said at the interval's end:
    /// segments retransmitted during it, the congestion windows (snd_cwnd × MSS,
    /// summed) and the smoothed RTT (the streams' mean). nil when this machine
    /// received, as iperf3 shows them only on the sending side.
    public var retransmits: UInt32?
    public var congestionWindowBytes: UInt64?
    public var rttMicroseconds: UInt32?

    public init(
        start: Double, end: Double, bytes: UInt64, retransmits: UInt32? = nil, congestionWindowBytes: UInt64? = nil,
        rttMicroseconds: UInt32? = nil
    ) {
        self.start = start
        self.end = end
        self.bytes = bytes
        self.retransmits = retransmits
        self.congestionWindowBytes = congestionWindowBytes
        self.rttMicroseconds = rttMicroseconds
    }

    public var bitsPerSecond: Double { end > start ? Double(bytes) * 8 / (end - start) : 0 }
}

/// Everything `nettune probe` measured.
public struct ProbeReport: Sendable, Equatable {
    public var peer: Endpoint
    public var methods: [ProbeMethod]
    /// What was asked for: send, receive or both.
    public var direction: ProbeDirection
    /// Streams in each direction.
    public var streams: Int
    public var payloadBytes: Int
    public var payloadPath: String
    public var kernel: String
    public var congestion: String?
    public var egressInterface: String?
    public var mtu: Int?
    public var runs: [RunResult]
    /// This machine's tuning as the runs saw it, and the server's as it reported it.
    public var local: TuningState
    public var remote: TuningState?
    /// The numeric address the peer's name resolved to (what the runs connected to).
    public var remoteAddress: String?
    /// The payload read into the page cache before the runs; nil when this machine
    /// did not send from it or the warm-up was off.
    public var payloadCache: PayloadCacheLoad?
    /// What the server read of the payload it sent into its page cache before the
    /// runs (it does so before "go"); nil when it read nothing.
    public var peerPayloadCache: PayloadCacheLoad?
    /// Tuning that changed between the first run and the last, at either end
    /// ("this machine's tcp_wmem A → B"): something else tuned while it measured
    /// (bpftune raises buffers while a socket is short of them), and the runs mix two
    /// tunings. Empty when nothing did.
    public var tuningChangedDuringRuns: [String] = []

    public init(
        peer: Endpoint, methods: [ProbeMethod], direction: ProbeDirection = .send, streams: Int = 1, payloadBytes: Int,
        payloadPath: String, kernel: String, congestion: String?, egressInterface: String?, mtu: Int?,
        runs: [RunResult], local: TuningState = TuningState(), remote: TuningState? = nil
    ) {
        self.peer = peer
        self.methods = methods
        self.direction = direction
        self.streams = streams
        self.payloadBytes = payloadBytes
        self.payloadPath = payloadPath
        self.kernel = kernel
        self.congestion = congestion
        self.egressInterface = egressInterface
        self.mtu = mtu
        self.runs = runs
        self.local = local
        self.remote = remote
    }

    /// The one-way directions measured, in order.
    public var directions: [ProbeDirection] { direction.ways }

    /// Runs of `method` (in `direction`; nil: every direction).
    public func runs(of method: ProbeMethod, direction: ProbeDirection? = nil) -> [RunResult] {
        runs.filter { $0.method == method && (direction == nil || $0.direction == direction) }
    }

    /// Who sent and who received in `direction`, for the diagnosis.
    public func context(for direction: ProbeDirection) -> DiagnosisContext {
        DiagnosisContext(direction: direction, local: local, remote: remote)
    }

    /// Medians over the runs of one method and direction.
    public struct Summary: Sendable, Equatable {
        public var throughputBitsPerSecondMedian: Double
        public var senderCPUSecondsPerGiBMedian: Double
        public var receiverCPUSecondsPerGiBMedian: Double
    }

    /// The diagnosis of the median-throughput run of a method in a direction (nil:
    /// the first direction measured).
    public func diagnosis(of method: ProbeMethod, direction: ProbeDirection? = nil) -> Diagnosis? {
        let way = direction ?? directions[0]
        let sorted = runs(of: method, direction: way).sorted { $0.throughputBitsPerSecond < $1.throughputBitsPerSecond }
        guard !sorted.isEmpty else { return nil }
        return Diagnoser.diagnose(sorted[sorted.count / 2], context: context(for: way))
    }

    public func summary(of method: ProbeMethod, direction: ProbeDirection? = nil) -> Summary? {
        let selected = runs(of: method, direction: direction ?? directions[0])
        guard let throughput = Statistics.median(selected.map(\.throughputBitsPerSecond)),
            let sender = Statistics.median(selected.map(\.senderCPUSecondsPerGiB)),
            let receiver = Statistics.median(selected.map(\.receiverCPUSecondsPerGiB))
        else { return nil }
        return Summary(
            throughputBitsPerSecondMedian: throughput, senderCPUSecondsPerGiBMedian: sender,
            receiverCPUSecondsPerGiBMedian: receiver)
    }
}
