import Foundation

/// iperf3's control protocol, version 3.x, for TCP tests: the pieces both roles
/// share. Learned from iperf3's own sources (iperf_api.h, iperf_client_api.c,
/// iperf_server_api.c); written here from the protocol, not from its code.
///
/// A client connects and sends a 37-byte cookie (36 characters of `[a-z2-7]` and
/// a NUL). From then on the server drives: one signed byte per state. JSON
/// messages (the client's parameters, both sides' results) are a 4-byte
/// big-endian length and that many bytes of JSON. Each data connection starts
/// with the same cookie.
public enum IperfWire {
    public static let defaultPort: UInt16 = 5201
    public static let cookieSize = 37
    static let cookieAlphabet = Array("abcdefghijklmnopqrstuvwxyz234567".utf8)

    /// The largest parameters message accepted (iperf3's own are a few hundred bytes).
    public static let maxParametersSize = 8 << 10
    /// The largest results message: 8 KiB plus room for each stream's entry.
    public static func maxResultsSize(streams: Int) -> Int { (8 << 10) + 512 * max(0, streams) }

    /// A fresh random cookie.
    public static func makeCookie() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<cookieSize - 1).map { _ in cookieAlphabet[Int(generator.next() % UInt64(cookieAlphabet.count))] } + [0]
    }

    /// Whether `bytes` could begin an iperf3 cookie: what tells an iperf3 client
    /// from a nettune one on the same port (nettune's frames start with "NTP").
    public static func couldBeCookie(_ bytes: ArraySlice<UInt8>) -> Bool {
        bytes.prefix(cookieSize - 1).allSatisfy(cookieAlphabet.contains)
            && (bytes.count < cookieSize || bytes[bytes.startIndex + cookieSize - 1] == 0)
    }

    /// Whether `bytes` is exactly one whole cookie.
    public static func isCookie(_ bytes: [UInt8]) -> Bool {
        bytes.count == cookieSize && couldBeCookie(bytes[...])
    }

    /// A JSON object as iperf3 frames it.
    static func frame(_ object: [String: Any]) throws -> [UInt8] {
        let json = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        let length = UInt32(json.count)
        return [UInt8(length >> 24), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff)] + Array(json)
    }

    /// The length a frame header announces.
    static func frameLength(_ header: ArraySlice<UInt8>) -> Int {
        header.prefix(4).reduce(0) { $0 << 8 | Int($1) }
    }

    /// Parses one JSON object from a frame's body.
    static func object(_ body: [UInt8]) throws(IperfWireError) -> [String: Any] {
        guard let parsed = try? JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed]) else {
            throw .invalidJSON
        }
        guard let object = parsed as? [String: Any] else { throw .invalidJSON }
        return object
    }
}

/// The states of iperf3's control connection (one signed byte each).
public enum IperfState: Int8, Sendable, CustomStringConvertible {
    case testStart = 1
    case testRunning = 2
    case testEnd = 4
    case parameterExchange = 9
    case createStreams = 10
    case serverTerminate = 11
    case clientTerminate = 12
    case exchangeResults = 13
    case displayResults = 14
    case iperfDone = 16
    case accessDenied = -1
    case serverError = -2

    public var description: String {
        switch self {
        case .testStart: return "TEST_START"
        case .testRunning: return "TEST_RUNNING"
        case .testEnd: return "TEST_END"
        case .parameterExchange: return "PARAM_EXCHANGE"
        case .createStreams: return "CREATE_STREAMS"
        case .serverTerminate: return "SERVER_TERMINATE"
        case .clientTerminate: return "CLIENT_TERMINATE"
        case .exchangeResults: return "EXCHANGE_RESULTS"
        case .displayResults: return "DISPLAY_RESULTS"
        case .iperfDone: return "IPERF_DONE"
        case .accessDenied: return "ACCESS_DENIED"
        case .serverError: return "SERVER_ERROR"
        }
    }

    var byte: UInt8 { UInt8(bitPattern: rawValue) }
}

/// iperf3 error numbers (i_errno) that a server sends after SERVER_ERROR and
/// that this server sends itself, with what they mean.
public enum IperfErrorCode {
    public static let duration: Int32 = 5
    public static let streams: Int32 = 6
    public static let blockSize: Int32 = 7
    public static let unimplemented: Int32 = 13
    public static let accessDenied: Int32 = 121
    public static let setCongestion: Int32 = 134
    public static let authentication: Int32 = 142

    static let meanings: [Int32: String] = [
        5: "the test is longer than the server allows",
        6: "more parallel streams than the server allows",
        7: "a block size larger than the server allows",
        13: "an option the server does not implement",
        20: "an invalid block size",
        27: "more bandwidth than the server allows",
        101: "the server could not start the test",
        110: "the server received an unknown message",
        114: "the server could not read the parameters",
        117: "the server could not read the results",
        121: "the server is busy running a test",
        131: "a protocol the server does not have",
        134: "a congestion control the server cannot use",
        142: "the server requires authentication",
        200: "the server could not create a stream",
        204: "the server could not accept a stream",
        206: "the server could not read a stream",
        208: "a stream with an invalid id"
    ]

    public static func meaning(_ code: Int32) -> String {
        meanings[code] ?? "iperf3 error \(code)"
    }
}

/// Bytes on an iperf3 control connection that break the protocol.
public enum IperfWireError: Error, Equatable, CustomStringConvertible {
    case unknownState(Int8)
    case unexpectedState(IperfState, expected: String)
    case oversized(what: String, length: Int, limit: Int)
    case invalidJSON
    case missing(field: String, in: String)
    case invalid(field: String, reason: String)
    case badCookie

    public var description: String {
        switch self {
        case .unknownState(let byte): return "an unknown state byte \(byte)"
        case .unexpectedState(let state, let expected): return "\(state) where \(expected) was due"
        case .oversized(let what, let length, let limit): return "\(what) of \(length) bytes, more than the \(limit) accepted"
        case .invalidJSON: return "a message that is not a JSON object"
        case .missing(let field, let message): return "\(message) without \"\(field)\""
        case .invalid(let field, let reason): return "\"\(field)\" \(reason)"
        case .badCookie: return "a connection that did not start with an iperf3 cookie"
        }
    }
}
