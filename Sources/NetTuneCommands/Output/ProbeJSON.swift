import NetTune

/// `probe --json`. The shape is a contract (README, pinned by a test).
struct ProbeJSON: Encodable {
    struct CPU: Encodable {
        var cpuUserSeconds: Double
        var cpuSystemSeconds: Double
        @Nullable var hostBusySeconds: Double?
        @Nullable var hostSoftirqSeconds: Double?
        @Nullable var hostTotalSeconds: Double?

        init(_ usage: CPUUsage) {
            cpuUserSeconds = usage.userSeconds
            cpuSystemSeconds = usage.systemSeconds
            hostBusySeconds = usage.hostBusySeconds
            hostSoftirqSeconds = usage.hostSoftirqSeconds
            hostTotalSeconds = usage.hostTotalSeconds
        }

        enum CodingKeys: String, CodingKey {
            case cpuUserSeconds = "cpu_user_s"
            case cpuSystemSeconds = "cpu_sys_s"
            case hostBusySeconds = "host_busy_s"
            case hostSoftirqSeconds = "host_softirq_s"
            case hostTotalSeconds = "host_total_s"
        }
    }

    static func name(_ direction: ProbeDirection) -> String {
        switch direction {
        case .send: return "send"
        case .receive: return "receive"
        case .both: return "both"
        }
    }

    struct TCPInfoJSON: Encodable {
        var retransmitsTotal: UInt32
        var rtt: UInt32
        @Nullable var minRTT: UInt32?
        var sndMSS: UInt32
        var pmtu: UInt32
        var sndCwnd: UInt32
        @Nullable var busy: UInt64?
        @Nullable var rwndLimited: UInt64?
        @Nullable var sndbufLimited: UInt64?
        @Nullable var bytesRetransmitted: UInt64?
        @Nullable var deliveryRate: UInt64?
        @Nullable var reorderingSeen: UInt32?

        init(info: TCPInfo) {
            retransmitsTotal = info.totalRetransmits
            rtt = info.rttMicroseconds
            minRTT = info.minRTTMicroseconds
            sndMSS = info.sndMSS
            pmtu = info.pmtu
            sndCwnd = info.sndCwnd
            busy = info.busyMicroseconds
            rwndLimited = info.rwndLimitedMicroseconds
            sndbufLimited = info.sndbufLimitedMicroseconds
            bytesRetransmitted = info.bytesRetransmitted
            deliveryRate = info.deliveryRate.map { $0 * 8 }
            reorderingSeen = info.reorderingSeen
        }

        enum CodingKeys: String, CodingKey {
            case retransmitsTotal = "retransmits_total"
            case rtt = "rtt_us"
            case minRTT = "min_rtt_us"
            case sndMSS = "snd_mss"
            case pmtu
            case sndCwnd = "snd_cwnd"
            case busy = "busy_us"
            case rwndLimited = "rwnd_limited_us"
            case sndbufLimited = "sndbuf_limited_us"
            case bytesRetransmitted = "bytes_retrans"
            case deliveryRate = "delivery_rate_bps"
            case reorderingSeen = "reord_seen"
        }
    }

    struct StreamJSON: Encodable {
        var index: Int
        var bytes: UInt64
        var seconds: Double
        var throughputBitsPerSecond: Double
        var sendBufferBytes: Int
        var receiveBufferBytes: Int
        @Nullable var tcpInfo: TCPInfoJSON?

        init(_ stream: StreamResult) {
            index = stream.index
            bytes = stream.bytes
            seconds = stream.seconds
            throughputBitsPerSecond = stream.throughputBitsPerSecond
            sendBufferBytes = stream.sendBufferBytes
            receiveBufferBytes = stream.receiveBufferBytes
            tcpInfo = stream.tcpInfo.map(TCPInfoJSON.init)
        }

        enum CodingKeys: String, CodingKey {
            case index, bytes, seconds
            case throughputBitsPerSecond = "throughput_bps"
            case sendBufferBytes = "sndbuf_bytes"
            case receiveBufferBytes = "rcvbuf_bytes"
            case tcpInfo = "tcp_info"
        }
    }

    struct IntervalJSON: Encodable {
        var start: Double
        var end: Double
        var bytes: UInt64
        var bitsPerSecond: Double
        @Nullable var retransmits: UInt32?
        @Nullable var congestionWindowBytes: UInt64?
        @Nullable var rttMicroseconds: UInt32?

        init(_ interval: Interval) {
            start = interval.start
            end = interval.end
            bytes = interval.bytes
            bitsPerSecond = interval.bitsPerSecond
            retransmits = interval.retransmits
            congestionWindowBytes = interval.congestionWindowBytes
            rttMicroseconds = interval.rttMicroseconds
        }

        enum CodingKeys: String, CodingKey {
            case start = "start_s"
            case end = "end_s"
            case bytes
            case bitsPerSecond = "throughput_bps"
            case retransmits
            case congestionWindowBytes = "snd_cwnd_bytes"
            case rttMicroseconds = "rtt_us"
        }
    }

    struct Run: Encodable {
        var method: String
        var direction: String
        var bytes: UInt64
        var seconds: Double
        var throughputBitsPerSecond: Double
        @Nullable var congestion: String?
        var sendBufferBytes: Int
        var receiveBufferBytes: Int
        var sender: CPU
        var receiver: CPU
        /// The sender's TCP_INFO; null when the sender was an iperf3 server.
        @Nullable var tcpInfo: TCPInfoJSON?
        var tcpInfoFrom: String
        /// Retransmitted segments over all streams, as the sender counted them.
        var retransmits: UInt32
        var streams: [StreamJSON]
        @Nullable var fairness: Double?
        var intervals: [IntervalJSON]

        init(_ run: RunResult) {
            method = run.method.rawValue
            direction = ProbeJSON.name(run.direction)
            bytes = run.bytes
            seconds = run.seconds
            throughputBitsPerSecond = run.throughputBitsPerSecond
            congestion = run.congestion
            sendBufferBytes = run.sendBufferBytes
            receiveBufferBytes = run.receiveBufferBytes
            sender = CPU(run.sender)
            receiver = CPU(run.receiver)
            tcpInfo = run.tcpInfoFrom == .unavailable ? nil : TCPInfoJSON(info: run.tcpInfo)
            tcpInfoFrom = run.tcpInfoFrom.rawValue
            retransmits = run.tcpInfo.totalRetransmits
            streams = run.streams.map(StreamJSON.init)
            fairness = run.fairness
            intervals = run.intervals.map(IntervalJSON.init)
        }

        enum CodingKeys: String, CodingKey {
            case method, direction, bytes, seconds
            case throughputBitsPerSecond = "throughput_bps"
            case congestion
            case sendBufferBytes = "sndbuf_bytes"
            case receiveBufferBytes = "rcvbuf_bytes"
            case sender, receiver
            case tcpInfo = "tcp_info"
            case tcpInfoFrom = "tcp_info_from"
            case retransmits, streams, fairness, intervals
        }
    }

    struct Summary: Encodable {
        var throughput: Double
        var sender: Double
        var receiver: Double
        init(_ summary: ProbeReport.Summary) {
            throughput = summary.throughputBitsPerSecondMedian
            sender = summary.senderCPUSecondsPerGiBMedian
            receiver = summary.receiverCPUSecondsPerGiBMedian
        }
        enum CodingKeys: String, CodingKey {
            case throughput = "throughput_bps_median"
            case sender = "sender_cpu_s_per_gib_median"
            case receiver = "receiver_cpu_s_per_gib_median"
        }
    }

    /// Per direction: its summary and diagnosis.
    struct DirectionJSON: Encodable {
        @Nullable var summary: Summary?
        @Nullable var diagnosis: DiagnosisJSON?
    }

    var peer: String
    /// What the peer speaks: "nettune" or "iperf3".
    var peerProtocol: String
    var method: String
    var direction: String
    var streams: Int
    var bytes: Int
    /// The file this machine sent from; null when it only received.
    @Nullable var file: String?
    var kernel: String
    @Nullable var congestion: String?
    @Nullable var egressInterface: String?
    @Nullable var mtu: Int?
    var runs: [Run]
    @Nullable var summary: Summary?
    /// Only with --methods: left out otherwise.
    var methods: [String: Summary]?
    @Nullable var diagnosis: DiagnosisJSON?
    var directions: [String: DirectionJSON]
    var local: TuningState
    @Nullable var remote: TuningState?
    @Nullable var baseline: BaselineJSON?
    @Nullable var payloadCache: PayloadCacheJSON?
    @Nullable var peerPayloadCache: PayloadCacheJSON?
    /// Tuning that changed between the first run and the last ("this machine's
    /// tcp_wmem A → B"); empty when none did.
    var tuningChanged: [String]

    /// The payload's reading into the page cache before the runs.
    struct PayloadCacheJSON: Encodable {
        var bytes: Int
        @Nullable var residentBefore: Int?
        @Nullable var residentAfter: Int?
        var seconds: Double

        init(_ cache: PayloadCacheLoad) {
            bytes = cache.bytes
            residentBefore = cache.residentBefore
            residentAfter = cache.residentAfter
            seconds = cache.seconds
        }

        enum CodingKeys: String, CodingKey {
            case bytes
            case residentBefore = "resident_before_bytes"
            case residentAfter = "resident_after_bytes"
            case seconds = "read_s"
        }
    }

    init(_ report: ProbeReport, multipleMethods: Bool) {
        peer = report.peer.description
        peerProtocol = report.peer.peerProtocol.rawValue
        method = report.methods.map(\.rawValue).joined(separator: ",")
        direction = Self.name(report.direction)
        streams = report.streams
        local = report.local
        remote = report.remote
        payloadCache = report.payloadCache.map(PayloadCacheJSON.init)
        peerPayloadCache = report.peerPayloadCache.map(PayloadCacheJSON.init)
        tuningChanged = report.tuningChangedDuringRuns
        var perDirection: [String: DirectionJSON] = [:]
        for way in report.directions {
            perDirection[Self.name(way)] = DirectionJSON(
                summary: report.summary(of: report.methods[0], direction: way).map(Summary.init),
                diagnosis: report.diagnosis(of: report.methods[0], direction: way).map(DiagnosisJSON.init))
        }
        directions = perDirection
        bytes = report.payloadBytes
        file = report.direction == .receive ? nil : report.payloadPath
        kernel = report.kernel
        congestion = report.congestion
        egressInterface = report.egressInterface
        mtu = report.mtu
        runs = report.runs.map(Run.init)
        summary = report.summary(of: report.methods[0]).map(Summary.init)
        diagnosis = report.diagnosis(of: report.methods[0]).map(DiagnosisJSON.init)
        if multipleMethods {
            var all: [String: Summary] = [:]
            for method in report.methods { all[method.rawValue] = report.summary(of: method).map(Summary.init) }
            methods = all
        }
    }

    enum CodingKeys: String, CodingKey {
        case peer
        case peerProtocol = "protocol"
        case method, direction, streams, bytes, file, kernel, congestion
        case egressInterface = "egress_interface"
        case mtu, runs
        case summary, methods, diagnosis, directions, local, remote, baseline
        case payloadCache = "payload_cache"
        case peerPayloadCache = "peer_payload_cache"
        case tuningChanged = "tuning_changed"
    }
}

/// `"diagnosis": {"bottleneck", "evidence": [...], "advice", "bdp_bytes", "path_rate_bps"}`.
struct DiagnosisJSON: Encodable {
    var bottleneck: String
    var evidence: [String]
    var advice: String
    @Nullable var bdpBytes: Int?
    @Nullable var pathRate: Double?

    init(_ diagnosis: Diagnosis) {
        bottleneck = diagnosis.bottleneck.rawValue
        evidence = diagnosis.evidence
        advice = diagnosis.advice
        bdpBytes = diagnosis.bdpBytes
        pathRate = diagnosis.pathRate
    }

    enum CodingKeys: String, CodingKey {
        case bottleneck, evidence, advice
        case bdpBytes = "bdp_bytes"
        case pathRate = "path_rate_bps"
    }
}

/// `"baseline"`: the change against the latest result for the same peer under other tuning.
struct BaselineJSON: Encodable {
    var time: Int
    var label: String
    var fingerprintID: String
    var throughputRatio: Double
    @Nullable var throughputCI: [Double]?
    var verdict: String

    init(_ change: BaselineChange) {
        time = change.baseline.time
        label = change.baseline.fingerprint.label
        fingerprintID = change.baseline.fingerprintID
        throughputRatio = change.throughputRatio
        throughputCI = change.interval.map { [$0.lower, $0.upper] }
        verdict = change.verdict.rawValue
    }

    enum CodingKeys: String, CodingKey {
        case time, label
        case fingerprintID = "fingerprint_id"
        case throughputRatio = "throughput_ratio"
        case throughputCI = "throughput_ci"
        case verdict
    }
}
