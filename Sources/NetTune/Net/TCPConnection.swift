import Glibc
import SystemPackage

/// A connected TCP socket, closed when the value goes away.
///
/// nettune never sets SO_SNDBUF/SO_RCVBUF on it: that would switch off the
/// autotuning whose `tcp_wmem`/`tcp_rmem` limits are what is being measured.
public final class TCPConnection: Sendable {
    public let fd: Int32
    public let endpoint: Endpoint

    private init(fd: Int32, endpoint: Endpoint) {
        self.fd = fd
        self.endpoint = endpoint
    }

    /// Takes ownership of an accepted socket.
    init(adopting fd: Int32, endpoint: Endpoint) {
        self.fd = fd
        self.endpoint = endpoint
    }

    deinit { close(fd) }

    /// Connects to the first address that accepts within `timeout`.
    public static func connect(to endpoint: Endpoint, timeout: Duration) throws -> TCPConnection {
        var lastError: ConnectionError?
        for address in try endpoint.resolve() {
            do {
                return try connect(address, endpoint: endpoint, timeout: timeout)
            } catch {
                lastError = error
            }
        }
        throw lastError ?? ConnectionError(endpoint: endpoint, operation: "connect", errno: .addressNotAvailable)
    }

    private static func connect(_ address: SocketAddress, endpoint: Endpoint, timeout: Duration) throws(ConnectionError) -> TCPConnection {
        func failure(_ operation: String, _ errno: Errno) -> ConnectionError {
            ConnectionError(endpoint: endpoint, operation: operation, errno: errno)
        }
        let fd: Int32
        do {
            fd = try Syscall.call { socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0) }
        } catch {
            throw failure("socket", error)
        }
        let connection = TCPConnection(fd: fd, endpoint: endpoint)
        // Non-blocking connect, then poll: the only portable way to bound its time.
        let rc = address.withSockaddr { Glibc.connect(fd, $0, $1) }
        if rc != 0 {
            let error = Errno(rawValue: errno)
            guard error == .nowInProgress || error == .interrupted else { throw failure("connect", error) }
            var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let ready = (try? Syscall.call { poll(&pfd, 1, Int32(timeout.milliseconds)) }) ?? 0
            guard ready > 0 else { throw failure("connect", .timedOut) }
            var soError: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &length)
            if soError != 0 { throw failure("connect", Errno(rawValue: soError)) }
        }
        // Back to blocking mode for simple sends.
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags & ~Int32(O_NONBLOCK))
        return connection
    }

    /// Sends all of `bytes`, looping on short writes.
    public func sendAll(_ bytes: [UInt8]) throws(ConnectionError) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { buffer in
                send(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL))
            }
            if n < 0 {
                let error = Errno(rawValue: errno)
                if error == .interrupted { continue }
                throw ConnectionError(endpoint: endpoint, operation: "send", errno: error)
            }
            offset += n
        }
    }

    /// Receives whatever is available, up to `limit` bytes; empty at end of stream.
    public func receiveSome(limit: Int) throws(ConnectionError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: limit)
        while true {
            let n = bytes.withUnsafeMutableBytes { raw in recv(fd, raw.baseAddress, limit, 0) }
            if n >= 0 { return Array(bytes.prefix(n)) }
            let error = Errno(rawValue: errno)
            if error == .interrupted { continue }
            throw ConnectionError(endpoint: endpoint, operation: "receive", errno: error == .wouldBlock ? .timedOut : error)
        }
    }

    /// Bounds how long a receive may wait (SO_RCVTIMEO); also applies to splice.
    public func setReceiveTimeout(_ timeout: Duration) {
        var value = timeval(tv_sec: Int(timeout.components.seconds), tv_usec: Int(timeout.components.attoseconds / 1_000_000_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Bounds how long a send may block (SO_SNDTIMEO).
    public func setSendTimeout(_ timeout: Duration) {
        var value = timeval(tv_sec: Int(timeout.components.seconds), tv_usec: Int(timeout.components.attoseconds / 1_000_000_000_000))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Ends our direction of the stream (FIN); the peer can still answer.
    public func shutdownWrite() {
        shutdown(fd, Int32(SHUT_WR))
    }

    public var localAddress: SocketAddress? { SocketAddress.local(of: fd) }

    /// SO_SNDBUF / SO_RCVBUF as the kernel holds them (read only: setting them would
    /// switch autotuning off).
    public var sendBufferBytes: Int { Int(intOption(SOL_SOCKET, SO_SNDBUF) ?? 0) }
    public var receiveBufferBytes: Int { Int(intOption(SOL_SOCKET, SO_RCVBUF) ?? 0) }

    private func intOption(_ level: Int32, _ name: Int32) -> Int32? {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(fd, level, name, &value, &length) == 0 ? value : nil
    }

    /// The congestion control algorithm of this socket (TCP_CONGESTION).
    public var congestionControl: String? {
        var name = [CChar](repeating: 0, count: 32)
        var length = socklen_t(name.count)
        guard getsockopt(fd, Int32(IPPROTO_TCP), TCP_CONGESTION, &name, &length) == 0 else { return nil }
        return String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Chooses this socket's congestion control; works even where the namespace's
    /// default cannot be changed.
    public func setCongestionControl(_ algorithm: String) throws(ConnectionError) {
        var name = Array(algorithm.utf8CString)
        if setsockopt(fd, Int32(IPPROTO_TCP), TCP_CONGESTION, &name, socklen_t(name.count - 1)) != 0 {
            throw ConnectionError(endpoint: endpoint, operation: "setsockopt(TCP_CONGESTION, \(algorithm))", errno: Errno(rawValue: errno))
        }
    }

    /// The kernel's TCP_INFO for this connection.
    public func tcpInfo() throws(ConnectionError) -> TCPInfo {
        var bytes = [UInt8](repeating: 0, count: TCPInfo.requestSize)
        var length = socklen_t(bytes.count)
        do {
            try Syscall.call { getsockopt(fd, Int32(IPPROTO_TCP), TCP_INFO, &bytes, &length) }
        } catch {
            throw ConnectionError(endpoint: endpoint, operation: "getsockopt(TCP_INFO)", errno: error)
        }
        return TCPInfo(kernelBytes: Array(bytes.prefix(Int(length))))
    }
}

/// A TCP connection that failed, said so a person can act on it.
public struct ConnectionError: Error, Equatable, CustomStringConvertible {
    public var endpoint: Endpoint
    public var operation: String
    public var errno: Errno

    public var description: String {
        switch errno {
        case .connectionRefused:
            return "\(endpoint) refused the connection: nothing listens there (is `nettune serve` running on the peer?)"
        case .timedOut:
            return "\(endpoint) did not answer (\(operation) timed out): check the address, a firewall, or the route"
        case .noRouteToHost, .networkUnreachable:
            return "\(endpoint) is unreachable: \(errno)"
        case .connectionReset, .brokenPipe:
            return "\(endpoint) closed the connection early (\(operation): \(errno))"
        case .noSuchFileOrDirectory where operation.hasPrefix("setsockopt(TCP_CONGESTION"):
            return "\(operation): this kernel has no such congestion control (see net.ipv4.tcp_available_congestion_control)"
        case .notPermitted where operation.hasPrefix("setsockopt(TCP_CONGESTION"):
            return "\(operation): not allowed here (see net.ipv4.tcp_allowed_congestion_control, or run as root)"
        default:
            return "\(operation) to \(endpoint) failed: \(errno)"
        }
    }
}

extension Duration {
    /// Whole milliseconds, clamped to what poll(2) takes.
    public var milliseconds: Int {
        let (seconds, attoseconds) = components
        let total = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return Int(max(0, min(total, Int64(Int32.max))))
    }
}
