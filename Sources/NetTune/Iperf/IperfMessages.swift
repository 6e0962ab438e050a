import Foundation

/// The test an iperf3 client asks for (its PARAM_EXCHANGE message), the part
/// nettune reads and writes: TCP only.
public struct IperfParameters: Equatable, Sendable {
    public enum Transport: String, Sendable { case tcp, udp, sctp }
    public var transport: Transport
    /// Seconds (a whole number); 0 for a test bounded by bytes.
    public var seconds: Int
    /// Bytes in all (`-n`); nil for a timed test.
    public var bytes: UInt64?
    /// Blocks in all (`-k`), of `blockSize` bytes each.
    public var blocks: UInt64?
    public var streams: Int
    public var reverse: Bool
    public var bidirectional: Bool
    /// The block size each send uses.
    public var blockSize: Int
    public var omitSeconds: Int
    public var congestion: String?
    /// `-b`: each stream held to this rate, bit/s.
    public var bandwidth: UInt64?
    public var clientVersion: String?

    public init(
        transport: Transport = .tcp, seconds: Int, bytes: UInt64? = nil, blocks: UInt64? = nil, streams: Int = 1,
        reverse: Bool = false, bidirectional: Bool = false, blockSize: Int = 128 << 10, omitSeconds: Int = 0,
        congestion: String? = nil, bandwidth: UInt64? = nil, clientVersion: String? = nil
    ) {
        self.transport = transport
        self.seconds = seconds
        self.bytes = bytes
        self.blocks = blocks
        self.streams = streams
        self.reverse = reverse
        self.bidirectional = bidirectional
        self.blockSize = blockSize
        self.omitSeconds = omitSeconds
        self.congestion = congestion
        self.bandwidth = bandwidth
        self.clientVersion = clientVersion
    }

    /// What bounds the test by size, in bytes: `-n`, or `-k` blocks of `-l` bytes
    /// (iperf3 counts the blocks sent as the bytes sent over the block size, so the
    /// two are one bound); nil for a timed test.
    public var byteLimit: UInt64? {
        if let bytes { return bytes }
        guard let blocks else { return nil }
        let (product, overflow) = blocks.multipliedReportingOverflow(by: UInt64(blockSize))
        return overflow ? .max : product
    }

    /// From the client's view: `.send` when it sends.
    public var direction: ProbeDirection { bidirectional ? .both : (reverse ? .receive : .send) }

    /// Data connections the client opens: its sending streams first, then its receiving ones.
    public var connections: Int { streams * (bidirectional ? 2 : 1) }

    /// How many of them the client sends on (the server receives).
    public var clientSendingStreams: Int { bidirectional ? streams : (reverse ? 0 : streams) }

    /// The message as iperf3 frames it.
    public func encoded() throws -> [UInt8] {
        var object: [String: Any] = [
            transport.rawValue: true, "omit": omitSeconds, "time": seconds, "parallel": streams,
            "len": blockSize, "pacing_timer": 1000
        ]
        if let bytes { object["num"] = bytes }
        if let blocks { object["blockcount"] = blocks }
        if reverse { object["reverse"] = true }
        if bidirectional { object["bidirectional"] = true }
        if let congestion { object["congestion"] = congestion }
        if let bandwidth { object["bandwidth"] = bandwidth }
        if let clientVersion { object["client_version"] = clientVersion }
        return try IperfWire.frame(object)
    }

    /// Reads a client's parameters; anything a TCP test needs must be sane.
    public init(json body: [UInt8]) throws(IperfWireError) {
        let object = try IperfWire.object(body)
        let reader = JSONFields(object, message: "the parameters")
        transport = object["udp"] != nil ? .udp : object["sctp"] != nil ? .sctp : .tcp
        seconds = try reader.integer("time", in: 0...86_400) ?? 10
        bytes = try reader.integer("num", in: 0...(1 << 50)).flatMap { $0 > 0 ? UInt64($0) : nil }
        blocks = try reader.integer("blockcount", in: 0...(1 << 50)).flatMap { $0 > 0 ? UInt64($0) : nil }
        streams = try reader.integer("parallel", in: 1...128) ?? 1
        reverse = object["reverse"] != nil
        bidirectional = object["bidirectional"] != nil
        blockSize = try reader.integer("len", in: 1...(16 << 20)) ?? (128 << 10)
        omitSeconds = try reader.integer("omit", in: 0...600) ?? 0
        congestion = try reader.string("congestion", maxLength: 16)
        bandwidth = try reader.integer("bandwidth", in: 0...(1 << 50)).flatMap { $0 > 0 ? UInt64($0) : nil }
        clientVersion = try reader.string("client_version", maxLength: 64)
        if bytes != nil && object["time"] == nil { seconds = 0 }
    }
}

/// One side's results (EXCHANGE_RESULTS): its CPU and each stream's bytes.
public struct IperfResults: Equatable, Sendable {
    public struct Stream: Equatable, Sendable {
        public var id: Int
        public var bytes: UInt64
        /// -1 where the side did not send on it.
        public var retransmits: Int
        public var startTime: Double
        public var endTime: Double

        public init(id: Int, bytes: UInt64, retransmits: Int, startTime: Double = 0, endTime: Double) {
            self.id = id
            self.bytes = bytes
            self.retransmits = retransmits
            self.startTime = startTime
            self.endTime = endTime
        }
    }

    /// The process's CPU over the test, percent of one CPU (iperf3's meter).
    public var cpuTotal: Double
    public var cpuUser: Double
    public var cpuSystem: Double
    /// 1 when the side sent and can count retransmits, 0 when it cannot, -1 when it only received.
    public var senderHasRetransmits: Int
    public var congestion: String?
    public var streams: [Stream]

    public init(cpuTotal: Double, cpuUser: Double, cpuSystem: Double, senderHasRetransmits: Int, congestion: String?, streams: [Stream]) {
        self.cpuTotal = cpuTotal
        self.cpuUser = cpuUser
        self.cpuSystem = cpuSystem
        self.senderHasRetransmits = senderHasRetransmits
        self.congestion = congestion
        self.streams = streams
    }

    public func encoded() throws -> [UInt8] {
        var object: [String: Any] = [
            "cpu_util_total": cpuTotal, "cpu_util_user": cpuUser, "cpu_util_system": cpuSystem,
            "sender_has_retransmits": senderHasRetransmits
        ]
        if let congestion { object["congestion_used"] = congestion }
        object["streams"] = streams.map { stream -> [String: Any] in
            [
                "id": stream.id, "bytes": stream.bytes, "retransmits": stream.retransmits, "jitter": 0, "errors": 0,
                "packets": 0, "start_time": stream.startTime, "end_time": stream.endTime
            ]
        }
        return try IperfWire.frame(object)
    }

    /// Reads the other side's results. Every figure must be possible: CPU within
    /// what `maximumCPUs` could give, bytes within what `maximumBytes` allows.
    public init(json body: [UInt8], maximumCPUs: Double = 1024, maximumBytes: UInt64 = 1 << 50) throws(IperfWireError) {
        let object = try IperfWire.object(body)
        let reader = JSONFields(object, message: "the results")
        let cpuRange = 0...(100 * maximumCPUs)
        guard let total = try reader.number("cpu_util_total", in: cpuRange),
            let user = try reader.number("cpu_util_user", in: cpuRange),
            let system = try reader.number("cpu_util_system", in: cpuRange)
        else {
            throw .missing(field: "cpu_util_total", in: "the results")
        }
        cpuTotal = total
        cpuUser = user
        cpuSystem = system
        guard let retransmits = try reader.signedCount("sender_has_retransmits", in: -1...1) else {
            throw .missing(field: "sender_has_retransmits", in: "the results")
        }
        senderHasRetransmits = retransmits
        congestion = try reader.string("congestion_used", maxLength: 16)
        guard let list = object["streams"] as? [Any] else { throw .missing(field: "streams", in: "the results") }
        guard list.count <= 256 else { throw .invalid(field: "streams", reason: "lists \(list.count) streams") }
        var streams: [Stream] = []
        for entry in list {
            guard let stream = entry as? [String: Any] else { throw .invalid(field: "streams", reason: "holds something that is not an object") }
            let fields = JSONFields(stream, message: "a stream's results")
            guard let id = try fields.integer("id", in: 1...1024) else { throw .missing(field: "id", in: "a stream's results") }
            guard let bytes = try fields.integer("bytes", in: 0...Int(clamping: maximumBytes)) else {
                throw .missing(field: "bytes", in: "a stream's results")
            }
            let resent = try fields.signedCount("retransmits", in: -1...Int(Int32.max)) ?? -1
            let start = try fields.number("start_time", in: 0...1e7) ?? 0
            let end = try fields.number("end_time", in: 0...1e7) ?? 0
            guard end >= start else { throw .invalid(field: "end_time", reason: "is before start_time") }
            streams.append(Stream(id: id, bytes: UInt64(bytes), retransmits: resent, startTime: start, endTime: end))
        }
        guard Set(streams.map(\.id)).count == streams.count else { throw .invalid(field: "streams", reason: "repeats a stream id") }
        self.streams = streams
    }

    /// iperf3 numbers its streams 1, 3, 4, 5 … (2 is never used), in the order
    /// they are created: the client's sending streams first.
    public static func streamID(_ index: Int) -> Int { index == 0 ? 1 : index + 2 }
}

/// Typed, bounded access to a decoded JSON object's fields.
struct JSONFields {
    let object: [String: Any]
    let message: String

    init(_ object: [String: Any], message: String) {
        self.object = object
        self.message = message
    }

    /// A number with no fraction, within `range`; nil when absent.
    func integer(_ key: String, in range: ClosedRange<Int>) throws(IperfWireError) -> Int? {
        guard let value = object[key] else { return nil }
        guard let number = value as? NSNumber else {
            throw .invalid(field: key, reason: "is not a number")
        }
        let double = number.doubleValue
        guard double.isFinite, double == double.rounded(), double >= Double(range.lowerBound), double <= Double(range.upperBound) else {
            throw .invalid(field: key, reason: "is \(number), outside \(range.lowerBound)…\(range.upperBound)")
        }
        return Int(double)
    }

    /// A count where -1 means "none": iperf3 3.12 writes its -1 as an unsigned
    /// 64-bit number (1.8446744073709552e+19), which is read back as -1.
    func signedCount(_ key: String, in range: ClosedRange<Int>) throws(IperfWireError) -> Int? {
        if let number = object[key] as? NSNumber, number.doubleValue == 18_446_744_073_709_551_615.0 { return -1 }
        return try integer(key, in: range)
    }

    func number(_ key: String, in range: ClosedRange<Double>) throws(IperfWireError) -> Double? {
        guard let value = object[key] else { return nil }
        guard let number = value as? NSNumber else { throw .invalid(field: key, reason: "is not a number") }
        let double = number.doubleValue
        guard double.isFinite, range.contains(double) else {
            throw .invalid(field: key, reason: "is \(double), outside \(range.lowerBound)…\(range.upperBound)")
        }
        return double
    }

    func string(_ key: String, maxLength: Int) throws(IperfWireError) -> String? {
        guard let value = object[key] else { return nil }
        guard let text = value as? String else { throw .invalid(field: key, reason: "is not a string") }
        guard text.utf8.count <= maxLength else { throw .invalid(field: key, reason: "is longer than \(maxLength) bytes") }
        return text
    }
}
