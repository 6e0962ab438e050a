/// The probe's wire format. All integers are big-endian.
///
/// Control connection, client → server, the header:
///
///     0  magic "NTPB"     4 bytes
///     4  version          u8   (1)
///     5  method           u8   1 sendfile, 2 splice, 3 readwrite (informational)
///     6  flags            u16  bit 0: timed — `length` is a limit, the payload ends at EOF
///     8  length           u64  payload bytes
///    16  token length     u16  0–255
///    18  token            bytes
///
/// Server → client, replies (`ProbeReply`): "ready" with the data port, "refused"
/// with a reason, and after the payload the "result" with the receiver's figures.
public enum ProbeWire {
    public static let version: UInt8 = 1
    static let headerMagic: [UInt8] = Array("NTPB".utf8)
    static let replyMagic: [UInt8] = Array("NTPR".utf8)
    public static let headerFixedSize = 18
    public static let replyFixedSize = 72
    public static let maxTokenLength = 255
    public static let maxMessageLength = 1024
}

/// What a client asks for.
public struct ProbeHeader: Equatable, Sendable {
    public struct Flags: OptionSet, Sendable {
        public let rawValue: UInt16
        public init(rawValue: UInt16) { self.rawValue = rawValue }
        /// The payload runs until the sender closes; `length` is an upper bound.
        public static let timed = Flags(rawValue: 1 << 0)
        static let known: Flags = [.timed]
    }

    public var method: ProbeMethod
    public var flags: Flags
    public var length: UInt64
    public var token: [UInt8]

    public init(method: ProbeMethod, flags: Flags = [], length: UInt64, token: [UInt8] = []) {
        self.method = method
        self.flags = flags
        self.length = length
        self.token = token
    }

    public func encoded() -> [UInt8] {
        var out = ProbeWire.headerMagic
        out.append(ProbeWire.version)
        out.append(method.code)
        out.appendBigEndian(flags.rawValue)
        out.appendBigEndian(length)
        let token = Array(self.token.prefix(ProbeWire.maxTokenLength))
        out.appendBigEndian(UInt16(token.count))
        out += token
        return out
    }

    /// Decodes a header from the front of `bytes`, field by field.
    /// - Returns: the header and how many bytes it used, or nil when more bytes are
    ///   needed (a truncated header is never an error until the connection ends).
    public static func decode(_ bytes: [UInt8]) throws(ProbeWireError) -> (header: ProbeHeader, size: Int)? {
        // Check the magic and version as soon as they arrive, so garbage is refused
        // without waiting for a full header.
        for (i, byte) in bytes.prefix(4).enumerated() where byte != ProbeWire.headerMagic[i] {
            throw .badMagic
        }
        if bytes.count > 4, bytes[4] != ProbeWire.version { throw .unsupportedVersion(bytes[4]) }
        guard bytes.count >= ProbeWire.headerFixedSize else { return nil }
        guard let method = ProbeMethod(code: bytes[5]) else { throw .unknownMethod(bytes[5]) }
        let flags = Flags(rawValue: bytes.readBigEndian(UInt16.self, at: 6))
        guard flags.isSubset(of: .known) else { throw .unknownFlags(flags.rawValue) }
        let length = bytes.readBigEndian(UInt64.self, at: 8)
        let tokenLength = Int(bytes.readBigEndian(UInt16.self, at: 16))
        guard tokenLength <= ProbeWire.maxTokenLength else { throw .tokenTooLong(tokenLength) }
        let size = ProbeWire.headerFixedSize + tokenLength
        guard bytes.count >= size else { return nil }
        let token = Array(bytes[ProbeWire.headerFixedSize..<size])
        return (ProbeHeader(method: method, flags: flags, length: length, token: token), size)
    }
}

/// What a server answers.
public struct ProbeReply: Equatable, Sendable {
    public enum Kind: UInt8, Sendable {
        case ready = 1, result = 2, refused = 3
    }

    public enum Status: UInt8, Sendable {
        case ok = 0, busy = 1, badRequest = 2, tooLarge = 3, unauthorized = 4, failed = 5
    }

    public var kind: Kind
    public var status: Status
    /// With `ready`: the port of the fresh data listener.
    public var dataPort: UInt16 = 0
    /// With `result`: what the receiver measured.
    public var bytes: UInt64 = 0
    public var receiveNanoseconds: UInt64 = 0
    public var cpuUserNanoseconds: UInt64 = 0
    public var cpuSystemNanoseconds: UInt64 = 0
    public var hostBusyNanoseconds: UInt64 = 0
    public var hostSoftirqNanoseconds: UInt64 = 0
    /// All CPUs' time over the window (busy + idle): the denominator for host %.
    public var hostTotalNanoseconds: UInt64 = 0
    /// SO_RCVBUF of the data socket as accepted (read, never set).
    public var receiveBuffer: UInt32 = 0
    public var message: String = ""

    public init(kind: Kind, status: Status, message: String = "") {
        self.kind = kind
        self.status = status
        self.message = message
    }

    public func encoded() -> [UInt8] {
        var out = ProbeWire.replyMagic
        out.append(ProbeWire.version)
        out.append(kind.rawValue)
        out.append(status.rawValue)
        out.append(0)
        out.appendBigEndian(dataPort)
        let text = Array(message.utf8.prefix(ProbeWire.maxMessageLength))
        out.appendBigEndian(UInt16(text.count))
        for value in [bytes, receiveNanoseconds, cpuUserNanoseconds, cpuSystemNanoseconds,
                      hostBusyNanoseconds, hostSoftirqNanoseconds, hostTotalNanoseconds] {
            out.appendBigEndian(value)
        }
        out.appendBigEndian(receiveBuffer)
        out += text
        return out
    }

    /// - Returns: the reply and its size, or nil when more bytes are needed.
    public static func decode(_ bytes: [UInt8]) throws(ProbeWireError) -> (reply: ProbeReply, size: Int)? {
        for (i, byte) in bytes.prefix(4).enumerated() where byte != ProbeWire.replyMagic[i] {
            throw .badMagic
        }
        if bytes.count > 4, bytes[4] != ProbeWire.version { throw .unsupportedVersion(bytes[4]) }
        guard bytes.count >= ProbeWire.replyFixedSize else { return nil }
        guard let kind = Kind(rawValue: bytes[5]) else { throw .malformedReply("kind \(bytes[5])") }
        guard let status = Status(rawValue: bytes[6]) else { throw .malformedReply("status \(bytes[6])") }
        let messageLength = Int(bytes.readBigEndian(UInt16.self, at: 10))
        guard messageLength <= ProbeWire.maxMessageLength else { throw .malformedReply("message of \(messageLength) bytes") }
        let size = ProbeWire.replyFixedSize + messageLength
        guard bytes.count >= size else { return nil }
        var reply = ProbeReply(kind: kind, status: status,
                               message: String(decoding: bytes[ProbeWire.replyFixedSize..<size], as: UTF8.self))
        reply.dataPort = bytes.readBigEndian(UInt16.self, at: 8)
        reply.bytes = bytes.readBigEndian(UInt64.self, at: 12)
        reply.receiveNanoseconds = bytes.readBigEndian(UInt64.self, at: 20)
        reply.cpuUserNanoseconds = bytes.readBigEndian(UInt64.self, at: 28)
        reply.cpuSystemNanoseconds = bytes.readBigEndian(UInt64.self, at: 36)
        reply.hostBusyNanoseconds = bytes.readBigEndian(UInt64.self, at: 44)
        reply.hostSoftirqNanoseconds = bytes.readBigEndian(UInt64.self, at: 52)
        reply.hostTotalNanoseconds = bytes.readBigEndian(UInt64.self, at: 60)
        reply.receiveBuffer = bytes.readBigEndian(UInt32.self, at: 68)
        return (reply, size)
    }
}

public enum ProbeWireError: Error, Equatable, CustomStringConvertible {
    case badMagic
    case unsupportedVersion(UInt8)
    case unknownMethod(UInt8)
    case unknownFlags(UInt16)
    case tokenTooLong(Int)
    case malformedReply(String)

    public var description: String {
        switch self {
        case .badMagic: return "not a nettune probe (bad magic)"
        case .unsupportedVersion(let v): return "probe protocol version \(v) is not supported (this nettune speaks \(ProbeWire.version))"
        case .unknownMethod(let m): return "unknown method code \(m)"
        case .unknownFlags(let f): return "unknown flags 0x\(String(f, radix: 16))"
        case .tokenTooLong(let n): return "token of \(n) bytes (at most \(ProbeWire.maxTokenLength))"
        case .malformedReply(let what): return "malformed reply (\(what))"
        }
    }
}

extension Array where Element == UInt8 {
    mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        var big = value.bigEndian
        Swift.withUnsafeBytes(of: &big) { append(contentsOf: $0) }
    }

    func readBigEndian<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        var value: T = 0
        for byte in self[offset..<offset + MemoryLayout<T>.size] { value = value << 8 | T(byte) }
        return value
    }
}

/// Compares secrets in time that does not depend on where they differ.
public func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    var difference = a.count ^ b.count
    for i in 0..<max(a.count, b.count) {
        let x = i < a.count ? a[i] : 0
        let y = i < b.count ? b[i] : 0
        difference |= Int(x ^ y)
    }
    return difference == 0
}
