/// Reads whole protocol messages from a control connection.
final class MessageReader {
    let connection: TCPConnection
    let endpoint: Endpoint
    /// This end is the client: a foreign answer is a server's.
    let peerIsServer: Bool
    private var buffer: [UInt8] = []

    init(connection: TCPConnection, endpoint: Endpoint, peerIsServer: Bool) {
        self.connection = connection
        self.endpoint = endpoint
        self.peerIsServer = peerIsServer
    }

    /// The first `count` bytes, read if need be but left for `next` or `take`.
    /// - Throws: when the peer closes or is silent before `count` arrive.
    func peek(_ count: Int, deadline: Deadline) throws -> [UInt8] {
        while buffer.count < count {
            let more = try connection.receiveSome(limit: 16 << 10, deadline: deadline)
            if more.isEmpty {
                throw ProbeFailedError(endpoint: endpoint, message: "\(endpoint) closed the connection after \(buffer.count) bytes")
            }
            buffer += more
        }
        return Array(buffer.prefix(count))
    }

    /// Removes and returns up to `count` buffered bytes.
    func take(_ count: Int) -> [UInt8] {
        let taken = Array(buffer.prefix(count))
        buffer.removeFirst(taken.count)
        return taken
    }

    var bufferedCount: Int { buffer.count }

    func next(deadline: Deadline, waiting what: String) throws -> ProbeMessage {
        while true {
            let decoded: (message: ProbeMessage, size: Int)?
            do {
                decoded = try ProbeMessage.decode(buffer)
            } catch {
                throw failure(error)
            }
            if let decoded {
                buffer.removeFirst(decoded.size)
                return decoded.message
            }
            let more: [UInt8]
            do {
                more = try connection.receiveSome(limit: 16 << 10, deadline: deadline)
            } catch let error as ConnectionError where error.errno == .timedOut {
                throw ProbeFailedError(endpoint: endpoint, message: "no answer from \(endpoint) within the time allowed (waiting for \(what))")
            }
            if more.isEmpty {
                throw ProbeFailedError(endpoint: endpoint, message: "\(endpoint) closed the connection early (waiting for \(what))")
            }
            buffer += more
        }
    }
}

extension MessageReader {
    func failure(_ error: ProbeWireError) -> any Error {
        switch error {
        case .versionMismatch: return ProbeVersionMismatch(endpoint: endpoint, detail: error)
        default:
            return ProbeProtocolError(endpoint: endpoint, detail: error, received: Array(buffer.prefix(64)), peerIsServer: peerIsServer)
        }
    }
}
