/// The probe's wire protocol, version 2. All integers are big-endian.
///
/// Every connection goes to the server's one port and every message is a frame:
///
///     0  magic "NTP2"   4 bytes
///     4  type           u8
///     5  reserved       u8   (0)
///     6  length         u16  payload bytes, at most 16 KiB
///     8  payload
///
/// A control connection starts with `request`; the server answers `queued` (as
/// often as the position changes), then `ready` or `refused`. The client opens
/// the data connections, each starting with `data`; the server answers `go` on
/// the control connection when all are there, the transfer runs, and the server
/// ends with `result`. The README documents every field.
public enum ProbeWire {
    public static let version: UInt8 = 2
    static let magic: [UInt8] = Array("NTP2".utf8)
    public static let frameHeaderSize = 8
    /// The largest message is a result of `--parallel 128 --bidir`: 256 stream
    /// reports of 100 bytes, and a message (26.7 KB in all).
    public static let maxPayload = 32 << 10
    public static let maxTokenLength = 255
    public static let maxMessageLength = 1024
    public static let maxStreams = 128
    public static let sessionIDLength = 16
    /// The kernel's TCP_CA_NAME_MAX (16) less its terminating NUL.
    public static let maxCongestionNameLength = 15

    /// Whether `name` can be a congestion control's name: 1–15 letters, digits,
    /// `_` or `-` (every name the kernel has), so a peer's text never reaches a
    /// setsockopt, a message or a log as anything else.
    public static func isCongestionName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        return (1...maxCongestionNameLength).contains(bytes.count)
            && bytes.allSatisfy { byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
            }
    }
}

/// Which way bytes flow, seen from the client.
public enum ProbeDirection: UInt8, Sendable, Codable, CaseIterable {
    /// The client sends, the server receives.
    case send = 1
    /// The server sends, the client receives (iperf3's `-R`).
    case receive = 2
    /// Both at once (`--bidir`).
    case both = 3

    /// The one-way directions this covers.
    public var ways: [ProbeDirection] { self == .both ? [.send, .receive] : [self] }
}

/// A 16-byte random session identifier, so a data connection finds its probe.
public struct SessionID: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) { self.bytes = bytes }

    public static func random() -> SessionID {
        var generator = SystemRandomNumberGenerator()
        return SessionID(bytes: (0..<ProbeWire.sessionIDLength).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    public var description: String { bytes.map { String($0, radix: 16).leftPadded(to: 2) }.joined() }
}

/// What the client asks for.
public struct ProbeRequestMessage: Equatable, Sendable {
    public var direction: ProbeDirection
    /// How the sending end moves its file into the socket.
    public var method: ProbeMethod
    /// Streams in each direction, 1–128.
    public var streams: Int
    /// Bytes in each direction (sized), or nil with a duration.
    public var length: UInt64?
    public var duration: Duration?
    /// How long the client will wait in the server's queue (zero: not at all).
    public var queueWait: Duration
    public var token: [UInt8]
    public var software: String
    /// The congestion control the server's sending sockets use (nil: its default).
    public var congestion: String?

    public init(
        direction: ProbeDirection, method: ProbeMethod, streams: Int, length: UInt64?, duration: Duration?,
        queueWait: Duration, token: [UInt8], software: String, congestion: String? = nil
    ) {
        self.direction = direction
        self.method = method
        self.streams = streams
        self.length = length
        self.duration = duration
        self.queueWait = queueWait
        self.token = token
        self.software = software
        self.congestion = congestion
    }

    /// Data connections the client opens.
    public var connections: Int { streams * direction.ways.count }

    /// The direction of data connection `index`: the send streams come first.
    public func direction(ofStream index: Int) -> ProbeDirection {
        direction == .both ? (index < streams ? .send : .receive) : direction
    }
}

/// A server's answer that the client's probe cannot run.
public struct RefusedMessage: Equatable, Sendable {
    public enum Status: UInt8, Sendable {
        case busy = 1
        case badRequest = 2
        case tooLarge = 3
        case unauthorized = 4
        case failed = 5
        case tooManyStreams = 6
        case versionMismatch = 7
    }
    public var status: Status
    public var message: String

    public init(status: Status, message: String) {
        self.status = status
        self.message = message
    }
}

/// The server's side of one stream, in its result.
public struct StreamReport: Equatable, Sendable {
    public var index: Int
    public var direction: ProbeDirection
    /// What the server received (send streams) or sent (receive streams).
    public var bytes: UInt64
    /// From `go` to the server's last byte of this stream.
    public var nanoseconds: UInt64
    public var receiveBuffer: UInt32
    public var sendBuffer: UInt32
    /// The server's TCP_INFO, for the streams it sent.
    public var tcpInfo: TCPInfo?

    public init(
        index: Int, direction: ProbeDirection, bytes: UInt64, nanoseconds: UInt64, receiveBuffer: UInt32,
        sendBuffer: UInt32, tcpInfo: TCPInfo?
    ) {
        self.index = index
        self.direction = direction
        self.bytes = bytes
        self.nanoseconds = nanoseconds
        self.receiveBuffer = receiveBuffer
        self.sendBuffer = sendBuffer
        self.tcpInfo = tcpInfo
    }
}

/// The server's figures after a probe.
public struct ResultMessage: Equatable, Sendable {
    public var ok: Bool
    public var message: String
    public var cpuUserNanoseconds: UInt64 = 0
    public var cpuSystemNanoseconds: UInt64 = 0
    public var hostBusyNanoseconds: UInt64 = 0
    public var hostSoftirqNanoseconds: UInt64 = 0
    public var hostTotalNanoseconds: UInt64 = 0
    public var streams: [StreamReport] = []

    public init(ok: Bool, message: String = "") {
        self.ok = ok
        self.message = message
    }
}

/// What a server says while it reads the payload it is about to send into its
/// page cache, between the data connections and "go": so the runs measure the
/// path, not the server's disk, and the client knows why "go" is late.
public struct PreparingMessage: Equatable, Sendable {
    /// The payload's size.
    public var bytes: UInt64
    /// How much of it was in the page cache when the server last looked (before
    /// reading, and when done); nil when its kernel could not say.
    public var resident: UInt64?
    /// How much of it the server has read so far.
    public var read: UInt64

    public init(bytes: UInt64, resident: UInt64?, read: UInt64) {
        self.bytes = bytes
        self.resident = resident
        self.read = read
    }
}

/// One message of protocol version 2.
public enum ProbeMessage: Equatable, Sendable {
    case request(ProbeRequestMessage)
    case queued(position: Int, waiting: Int)
    case ready(session: SessionID, streams: Int, tuning: TuningState)
    case refused(RefusedMessage)
    case result(ResultMessage)
    case data(session: SessionID, stream: Int)
    case go
    case preparing(PreparingMessage)

    enum Kind: UInt8 {
        case request = 1
        case queued, ready, refused, result, data, go, preparing
    }

    var kind: Kind {
        switch self {
        case .request: return .request
        case .queued: return .queued
        case .ready: return .ready
        case .refused: return .refused
        case .result: return .result
        case .data: return .data
        case .go: return .go
        case .preparing: return .preparing
        }
    }

    public func encoded() -> [UInt8] {
        var payload: [UInt8] = []
        switch self {
        case .request(let r):
            payload.append(r.direction.rawValue)
            payload.append(r.method.code)
            payload.appendBigEndian(UInt16(clamping: r.streams))
            payload.appendBigEndian(UInt16(r.duration == nil ? 0 : 1) | (r.congestion == nil ? 0 : 2))
            payload.appendBigEndian(r.length ?? 0)
            payload.appendBigEndian(UInt32(clamping: r.duration?.millisecondsRoundedUp ?? 0))
            payload.appendBigEndian(UInt32(clamping: r.queueWait.millisecondsRoundedUp))
            payload.appendShortBytes(Array(r.token.prefix(ProbeWire.maxTokenLength)))
            payload.appendShortBytes(Array(r.software.utf8.prefix(255)))
            if let congestion = r.congestion { payload.appendShortBytes(Array(congestion.utf8.prefix(255))) }
        case .queued(let position, let waiting):
            payload.appendBigEndian(UInt16(clamping: position))
            payload.appendBigEndian(UInt16(clamping: waiting))
        case .ready(let session, let streams, let tuning):
            payload += session.bytes
            payload.appendBigEndian(UInt16(clamping: streams))
            let attributes = tuning.attributes()
            payload.append(UInt8(attributes.count))
            for (attribute, value) in attributes {
                payload.append(attribute.rawValue)
                payload.appendShortBytes(Array(value.utf8.prefix(255)))
            }
        case .refused(let refused):
            payload.append(refused.status.rawValue)
            payload.appendText(refused.message)
        case .result(let result):
            payload.append(result.ok ? 0 : 1)
            payload.appendText(result.message)
            for value in [
                result.cpuUserNanoseconds, result.cpuSystemNanoseconds, result.hostBusyNanoseconds,
                result.hostSoftirqNanoseconds, result.hostTotalNanoseconds
            ] {
                payload.appendBigEndian(value)
            }
            payload.appendBigEndian(UInt16(clamping: result.streams.count))
            for stream in result.streams.prefix(ProbeWire.maxStreams * 2) { payload += StreamReport.encode(stream) }
        case .data(let session, let stream):
            payload += session.bytes
            payload.appendBigEndian(UInt16(clamping: stream))
        case .go:
            break
        case .preparing(let preparing):
            payload.append(preparing.resident == nil ? 0 : 1)
            payload.appendBigEndian(preparing.bytes)
            payload.appendBigEndian(preparing.resident ?? 0)
            payload.appendBigEndian(preparing.read)
        }
        var out = ProbeWire.magic
        out.append(kind.rawValue)
        out.append(0)
        out.appendBigEndian(UInt16(payload.count))
        return out + payload
    }

    /// Decodes the message at the front of `bytes`.
    /// - Returns: the message and its size, or nil while more bytes are needed
    ///   (a truncated frame is never an error until the connection ends).
    /// - Throws: `ProbeWireError` for bytes that are not, and cannot become, a message.
    public static func decode(_ bytes: [UInt8]) throws(ProbeWireError) -> (message: ProbeMessage, size: Int)? {
        // The magic is checked as soon as it arrives, so garbage is refused early —
        // and an older peer is recognised by its own magic and version byte.
        if bytes.count >= 4, LegacyWire.isLegacy(bytes.prefix(4)) {
            guard bytes.count >= 5 else { return nil }
            throw .versionMismatch(peerVersion: bytes[4], peerIsServer: bytes[3] == UInt8(ascii: "R"))
        }
        for (i, byte) in bytes.prefix(4).enumerated() where byte != ProbeWire.magic[i] { throw .badMagic }
        guard bytes.count >= ProbeWire.frameHeaderSize else { return nil }
        guard let kind = Kind(rawValue: bytes[4]) else { throw .unknownMessage(bytes[4]) }
        let length = Int(bytes.readBigEndian(UInt16.self, at: 6))
        guard length <= ProbeWire.maxPayload else { throw .malformed("a payload of \(length) bytes") }
        let size = ProbeWire.frameHeaderSize + length
        guard bytes.count >= size else { return nil }
        var reader = ByteReader(Array(bytes[ProbeWire.frameHeaderSize..<size]), what: "\(kind)")
        let message = try decodePayload(kind, &reader)
        guard reader.isAtEnd else { throw .malformed("\(kind) has \(reader.remaining) bytes too many") }
        return (message, size)
    }

    private static func decodePayload(_ kind: Kind, _ reader: inout ByteReader) throws(ProbeWireError) -> ProbeMessage {
        switch kind {
        case .request:
            let rawDirection = try reader.u8()
            guard let direction = ProbeDirection(rawValue: rawDirection) else { throw .malformed("direction \(rawDirection)") }
            let rawMethod = try reader.u8()
            guard let method = ProbeMethod(code: rawMethod) else { throw .unknownMethod(rawMethod) }
            let streams = Int(try reader.u16())
            guard (1...ProbeWire.maxStreams).contains(streams) else { throw .malformed("\(streams) streams (1–\(ProbeWire.maxStreams))") }
            let flags = try reader.u16()
            guard flags & ~3 == 0 else { throw .unknownFlags(flags) }
            let length = try reader.u64()
            let durationMs = try reader.u32()
            let queueMs = try reader.u32()
            let token = try reader.shortBytes()
            let software = try reader.shortText()
            let congestion = flags & 2 != 0 ? try reader.shortText() : nil
            if let congestion, !ProbeWire.isCongestionName(congestion) {
                throw .malformed("a congestion control named \"\(PeerText.sanitized(congestion, limit: 40))\"")
            }
            let timed = flags & 1 != 0
            guard timed ? durationMs > 0 : length > 0 else { throw .malformed(timed ? "a timed probe of 0 ms" : "a probe of 0 bytes") }
            return .request(
                ProbeRequestMessage(
                    direction: direction, method: method, streams: streams, length: timed ? nil : length,
                    duration: timed ? .milliseconds(Int64(durationMs)) : nil, queueWait: .milliseconds(Int64(queueMs)),
                    token: token, software: software, congestion: congestion))
        case .queued:
            return .queued(position: Int(try reader.u16()), waiting: Int(try reader.u16()))
        case .ready:
            let session = SessionID(bytes: try reader.bytes(ProbeWire.sessionIDLength))
            let streams = Int(try reader.u16())
            guard (1...ProbeWire.maxStreams * 2).contains(streams) else { throw .malformed("\(streams) streams") }
            var tuning = TuningState()
            for _ in 0..<(try reader.u8()) {
                let id = try reader.u8()
                let value = try reader.shortText()
                if let attribute = TuningState.Attribute(rawValue: id) { try tuning.set(attribute, value) }
            }
            return .ready(session: session, streams: streams, tuning: tuning)
        case .refused:
            let rawStatus = try reader.u8()
            guard let status = RefusedMessage.Status(rawValue: rawStatus) else { throw .malformed("status \(rawStatus)") }
            return .refused(RefusedMessage(status: status, message: try reader.text()))
        case .result:
            let status = try reader.u8()
            guard status <= 1 else { throw .malformed("status \(status)") }
            var result = ResultMessage(ok: status == 0, message: try reader.text())
            result.cpuUserNanoseconds = try reader.u64()
            result.cpuSystemNanoseconds = try reader.u64()
            result.hostBusyNanoseconds = try reader.u64()
            result.hostSoftirqNanoseconds = try reader.u64()
            result.hostTotalNanoseconds = try reader.u64()
            let count = Int(try reader.u16())
            guard count <= ProbeWire.maxStreams * 2 else { throw .malformed("\(count) streams") }
            for _ in 0..<count { result.streams.append(try StreamReport.decode(&reader)) }
            return .result(result)
        case .data:
            let session = SessionID(bytes: try reader.bytes(ProbeWire.sessionIDLength))
            let stream = Int(try reader.u16())
            guard stream < ProbeWire.maxStreams * 2 else { throw .malformed("stream \(stream)") }
            return .data(session: session, stream: stream)
        case .go:
            return .go
        case .preparing:
            let flags = try reader.u8()
            guard flags & ~1 == 0 else { throw .unknownFlags(UInt16(flags)) }
            let bytes = try reader.u64()
            let resident = try reader.u64()
            let read = try reader.u64()
            guard resident <= bytes, read <= bytes, flags == 1 || resident == 0 else {
                throw .malformed("\(resident) resident and \(read) read of a \(bytes)-byte payload")
            }
            return .preparing(PreparingMessage(bytes: bytes, resident: flags == 1 ? resident : nil, read: read))
        }
    }
}

extension StreamReport {
    static func encode(_ stream: StreamReport) -> [UInt8] {
        var out: [UInt8] = []
        out.appendBigEndian(UInt16(clamping: stream.index))
        out.append(stream.direction.rawValue)
        out.append(stream.tcpInfo == nil ? 0 : 1)
        out.appendBigEndian(stream.bytes)
        out.appendBigEndian(stream.nanoseconds)
        out.appendBigEndian(stream.receiveBuffer)
        out.appendBigEndian(stream.sendBuffer)
        let info = stream.tcpInfo
        for value in [
            info?.busyMicroseconds, info?.rwndLimitedMicroseconds, info?.sndbufLimitedMicroseconds,
            info?.bytesRetransmitted, info?.deliveryRate, info?.bytesAcked
        ] {
            out.appendBigEndian(value ?? 0)
        }
        for value in [
            info?.totalRetransmits, info?.rttMicroseconds, info?.minRTTMicroseconds, info?.sndCwnd,
            info?.sndMSS, info?.pmtu
        ] {
            out.appendBigEndian(value ?? 0)
        }
        return out
    }

    static func decode(_ reader: inout ByteReader) throws(ProbeWireError) -> StreamReport {
        let index = Int(try reader.u16())
        let rawDirection = try reader.u8()
        guard let direction = ProbeDirection(rawValue: rawDirection), direction != .both else {
            throw .malformed("stream direction \(rawDirection)")
        }
        let hasInfo = try reader.u8()
        guard hasInfo <= 1 else { throw .malformed("TCP_INFO flag \(hasInfo)") }
        var report = StreamReport(
            index: index, direction: direction, bytes: try reader.u64(), nanoseconds: try reader.u64(),
            receiveBuffer: try reader.u32(), sendBuffer: try reader.u32(), tcpInfo: nil)
        var info = TCPInfo(kernelBytes: [])
        info.busyMicroseconds = try reader.u64()
        info.rwndLimitedMicroseconds = try reader.u64()
        info.sndbufLimitedMicroseconds = try reader.u64()
        info.bytesRetransmitted = try reader.u64()
        info.deliveryRate = try reader.u64()
        info.bytesAcked = try reader.u64()
        info.totalRetransmits = try reader.u32()
        info.rttMicroseconds = try reader.u32()
        info.minRTTMicroseconds = try reader.u32()
        info.sndCwnd = try reader.u32()
        info.sndMSS = try reader.u32()
        info.pmtu = try reader.u32()
        info.state = 1
        if hasInfo == 1 { report.tcpInfo = info }
        return report
    }
}

public enum ProbeWireError: Error, Equatable, CustomStringConvertible {
    case badMagic
    /// The peer speaks another version of the protocol (`peerVersion`).
    case versionMismatch(peerVersion: UInt8, peerIsServer: Bool)
    case unknownMessage(UInt8)
    case unknownMethod(UInt8)
    case unknownFlags(UInt16)
    case malformed(String)

    public var description: String {
        switch self {
        // Whoever prints this has already said "not a nettune probe" in its own words.
        case .badMagic: return "bad magic (the message does not start with \"NTP2\")"
        case .versionMismatch(let version, let peerIsServer):
            let peer = peerIsServer ? "the server" : "the client"
            let upgrade = version < ProbeWire.version ? "upgrade nettune on \(peer)" : "upgrade this nettune"
            return "\(peer) speaks probe protocol \(version), this nettune speaks \(ProbeWire.version): \(upgrade)"
        case .unknownMessage(let kind): return "unknown message type \(kind)"
        case .unknownMethod(let m): return "unknown method code \(m)"
        case .unknownFlags(let f): return "unknown flags 0x\(String(f, radix: 16))"
        case .malformed(let what): return "malformed message (\(what))"
        }
    }
}
