import Glibc

/// An iperf3 control connection: state bytes and framed JSON, each read with a
/// deadline and bounded in size.
final class IperfControl {
    let connection: TCPConnection
    /// Who is at the other end, for messages.
    let peer: String
    private var buffer: [UInt8] = []

    init(connection: TCPConnection, peer: String, buffered: [UInt8] = []) {
        connection.setNoDelay()
        self.connection = connection
        self.peer = peer
        buffer = buffered
    }

    /// Exactly `count` bytes.
    func read(_ count: Int, deadline: Deadline, waiting what: String) throws -> [UInt8] {
        while buffer.count < count {
            let more: [UInt8]
            do {
                more = try connection.receiveSome(limit: max(count - buffer.count, 4096), deadline: deadline)
            } catch let error as ConnectionError where error.errno == .timedOut {
                throw IperfPeerError(peer: peer, problem: .silent(waiting: what))
            }
            guard !more.isEmpty else { throw IperfPeerError(peer: peer, problem: .closed(waiting: what)) }
            buffer += more
        }
        defer { buffer.removeFirst(count) }
        return Array(buffer[..<count])
    }

    /// "it sent "SSH-2.0-…"" when a service that is not iperf3 answered with a line of
    /// text beginning with `first` (the rest read for at most 200 ms more), else
    /// "it sent something else".
    func whatItSent(after first: Int8) -> String {
        var text = [UInt8(bitPattern: first)] + buffer.prefix(63)
        if text.count < 64, !text.contains(UInt8(ascii: "\n")),
            let more = try? connection.receiveSome(limit: 64 - text.count, deadline: .after(.milliseconds(200)))
        {
            text += more
        }
        return ForeignAnswer.quotedLine(text).map { "it sent \($0)" } ?? "it sent something else"
    }

    /// Whether the peer has said something not read yet: already buffered (a state
    /// that came in one segment with the one before it), or waiting in the socket.
    /// Never waits.
    var hasUnread: Bool {
        !buffer.isEmpty || connection.isReadableNow
    }

    /// The next state byte.
    func state(deadline: Deadline, waiting what: String) throws -> IperfState {
        let byte = Int8(bitPattern: try read(1, deadline: deadline, waiting: what)[0])
        guard let state = IperfState(rawValue: byte) else {
            throw IperfPeerError(peer: peer, problem: .protocolBroken(.unknownState(byte)))
        }
        return state
    }

    /// One framed JSON message's body, at most `limit` bytes.
    func frame(limit: Int, deadline: Deadline, waiting what: String) throws -> [UInt8] {
        let length = IperfWire.frameLength(try read(4, deadline: deadline, waiting: what)[...])
        guard length <= limit else {
            throw IperfPeerError(peer: peer, problem: .protocolBroken(.oversized(what: what, length: length, limit: limit)))
        }
        return try read(length, deadline: deadline, waiting: what)
    }

    func send(_ state: IperfState, deadline: Deadline) throws {
        try connection.sendAll([state.byte], deadline: deadline)
    }

    func send(_ bytes: [UInt8], deadline: Deadline) throws {
        try connection.sendAll(bytes, deadline: deadline)
    }

    /// SERVER_ERROR's two 32-bit big-endian numbers: iperf3's error and errno.
    func serverError(deadline: Deadline) throws -> (code: Int32, errno: Int32) {
        let bytes = try read(8, deadline: deadline, waiting: "the server's error code")
        func int32(_ slice: ArraySlice<UInt8>) -> Int32 { Int32(bitPattern: slice.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }) }
        return (int32(bytes[0..<4]), int32(bytes[4..<8]))
    }

    static func serverErrorBytes(code: Int32, errno: Int32) -> [UInt8] {
        [IperfState.serverError.byte]
            + [code, errno].flatMap { value -> [UInt8] in
                let bits = UInt32(bitPattern: value)
                return [UInt8(bits >> 24), UInt8(bits >> 16 & 0xff), UInt8(bits >> 8 & 0xff), UInt8(bits & 0xff)]
            }
    }
}

/// An iperf3 peer that failed, refused, or broke the protocol.
public struct IperfPeerError: Error, Equatable, CustomStringConvertible {
    public enum Problem: Equatable, Sendable {
        case busy
        case serverError(code: Int32, errno: Int32)
        case terminated
        case silent(waiting: String)
        case closed(waiting: String)
        case protocolBroken(IperfWireError)
        case notIperf(reason: String)
    }
    public var peer: String
    public var problem: Problem

    public var description: String {
        switch problem {
        case .busy:
            return "\(peer) is busy running another test (iperf3 serves one at a time); try again later"
        case .serverError(let code, let errno):
            let cause = errno != 0 ? " (\(String(cString: strerror(errno))))" : ""
            return "\(peer) refused the test: \(IperfErrorCode.meaning(code))\(cause)"
        case .terminated:
            return "\(peer) ended the test early (SERVER_TERMINATE)"
        case .silent(let what):
            return "no answer from \(peer) within the time allowed (waiting for \(what))"
        case .closed(let what):
            return "\(peer) closed the connection early (waiting for \(what)); is it an iperf3 server?"
        case .protocolBroken(let detail):
            return "\(peer) does not speak iperf3's protocol as expected: \(detail)"
        case .notIperf(let reason):
            return "\(peer) does not answer like an iperf3 server (no PARAM_EXCHANGE after the cookie: \(reason)); check the address and port"
        }
    }
}
