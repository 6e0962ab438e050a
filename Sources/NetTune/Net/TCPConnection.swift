import Glibc
import SystemPackage

/// A connected TCP socket, closed when the value goes away.
///
/// The socket is non-blocking: every operation that could wait takes a `Deadline`
/// and waits in `poll`, so a peer that stops reading or answering ends the
/// operation at the deadline, and a signal ends it at once.
///
/// nettune never sets SO_SNDBUF/SO_RCVBUF on it: that would switch off the
/// autotuning whose `tcp_wmem`/`tcp_rmem` limits are what is being measured.
public final class TCPConnection: Sendable {
    public let fd: Int32
    public let endpoint: Endpoint

    /// Takes ownership of a connected socket and makes it non-blocking.
    init(adopting fd: Int32, endpoint: Endpoint) {
        self.fd = fd
        self.endpoint = endpoint
        Syscall.setNonBlocking(fd, true)
    }

    deinit { Syscall.close(fd) }

    /// Connects to the first address that accepts before the deadline. A host name
    /// is looked up first, within `NameLookup.limit`; the deadline counts from its
    /// answer, so a slow name server does not eat the connect's time.
    public static func connect(
        to endpoint: Endpoint, deadline: Deadline, options: ConnectOptions = ConnectOptions(), congestion: String? = nil
    ) throws -> TCPConnection {
        let asked = ContinuousClock.now
        let addresses = try endpoint.resolve(family: options.family, interruption: deadline.interruption)
        var deadline = deadline
        deadline.instant = deadline.instant.map { $0 + (ContinuousClock.now - asked) }
        var lastError: (any Error)?
        for address in addresses {
            do {
                return try connect(address, endpoint: endpoint, deadline: deadline, options: options, congestion: congestion)
            } catch let error as Interrupted {
                throw error
            } catch {
                lastError = error
            }
        }
        throw lastError ?? ConnectionError(endpoint: endpoint, operation: "connect", errno: .addressNotAvailable)
    }

    /// Connects to one resolved address: a probe's data connections go to the very
    /// address its control connection reached, scope id (link-local) included.
    /// - Parameter congestion: the socket's congestion control, set before the
    ///   handshake. Set after it, the namespace's default has already been set up and
    ///   not all of that is undone: a BBR socket switched to cubic stays paced (with
    ///   no fq qdisc, one timer interrupt per held-back burst; measured on a veth,
    ///   50–62 Gbit/s against 86–87 with cubic from the start).
    public static func connect(
        _ address: SocketAddress, endpoint: Endpoint, deadline: Deadline, options: ConnectOptions = ConnectOptions(), congestion: String? = nil
    ) throws -> TCPConnection {
        func failure(_ operation: String, _ errno: Errno) -> ConnectionError {
            ConnectionError(endpoint: endpoint, operation: operation, errno: errno)
        }
        let fd: Int32
        do {
            fd = try Syscall.call {
                socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            }
        } catch {
            throw failure("socket", error)
        }
        let connection = TCPConnection(adopting: fd, endpoint: endpoint)
        if let congestion { try connection.setCongestionControl(congestion) }
        if let bind = options.bindAddress {
            let local: [SocketAddress]
            do {
                local = try Endpoint.addresses(host: bind, port: 0, family: address.family, flags: AI_NUMERICHOST | AI_PASSIVE)
            } catch {
                throw BindError(address: bind, problem: "not a numeric address of the peer's family (\(error))")
            }
            guard let first = local.first else { throw BindError(address: bind, problem: "no address") }
            do {
                try Syscall.call { first.withSockaddr { Glibc.bind(fd, $0, $1) } }
            } catch {
                throw BindError(
                    address: bind,
                    problem: error == .addressNotAvailable ? "no interface of this machine has that address" : "\(error)")
            }
        }
        // Non-blocking connect, then poll: the only way to bound its time.
        do {
            try Syscall.call { address.withSockaddr { Glibc.connect(fd, $0, $1) } }
        } catch  where error == .socketIsConnected {
            // A retried connect that had completed meanwhile.
        } catch {
            // EINTR after the handshake began is EINPROGRESS by another name (connect(2)).
            guard error == .nowInProgress || error == .interrupted || error == .alreadyInProcess else { throw failure("connect", error) }
            guard try deadline.wait(for: Int16(POLLOUT), on: fd) else { throw failure("connect", .timedOut) }
            if let soError = connection.intOption(SOL_SOCKET, SO_ERROR), soError != 0 {
                throw failure("connect", Errno(rawValue: soError))
            }
        }
        return connection
    }

    /// Sends all of `bytes` before the deadline.
    public func sendAll(_ bytes: [UInt8], deadline: Deadline) throws {
        var offset = 0
        while offset < bytes.count {
            do {
                offset += try Syscall.call {
                    bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                }
            } catch {
                guard error == .wouldBlock else { throw ConnectionError(endpoint: endpoint, operation: "send", errno: error) }
                guard try deadline.wait(for: Int16(POLLOUT), on: fd) else {
                    throw ConnectionError(endpoint: endpoint, operation: "send", errno: .timedOut)
                }
            }
        }
    }

    /// Receives whatever arrives first, up to `limit` bytes; empty at end of stream.
    public func receiveSome(limit: Int, deadline: Deadline) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: max(1, limit))
        while true {
            do {
                let n = try Syscall.call { bytes.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) } }
                return Array(bytes.prefix(n))
            } catch {
                guard error == .wouldBlock else { throw ConnectionError(endpoint: endpoint, operation: "receive", errno: error) }
                guard try deadline.wait(for: Int16(POLLIN), on: fd) else {
                    throw ConnectionError(endpoint: endpoint, operation: "receive", errno: .timedOut)
                }
            }
        }
    }

    /// Ends our direction of the stream (FIN); the peer can still answer.
    public func shutdownWrite() {
        _ = try? Syscall.call { shutdown(fd, Int32(SHUT_WR)) }
    }

    /// Ends both directions: a thread blocked on this socket returns at once.
    public func shutdownBoth() {
        _ = try? Syscall.call { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    public var localAddress: SocketAddress? { SocketAddress.local(of: fd) }
    public var remoteAddress: SocketAddress? { SocketAddress.remote(of: fd) }

    /// SO_SNDBUF / SO_RCVBUF as the kernel holds them (read only: setting them would
    /// switch autotuning off).
    public var sendBufferBytes: Int { Int(intOption(SOL_SOCKET, SO_SNDBUF) ?? 0) }
    public var receiveBufferBytes: Int { Int(intOption(SOL_SOCKET, SO_RCVBUF) ?? 0) }

    /// Caps the rate this socket sends at (SO_MAX_PACING_RATE): TCP paces itself
    /// to it, with or without an `fq` qdisc.
    /// - Returns: whether the kernel took it.
    @discardableResult
    func setMaxPacingRate(bytesPerSecond: UInt64) -> Bool {
        (try? Syscall.setSocketOption64(fd, SOL_SOCKET, SO_MAX_PACING_RATE, max(1, bytesPerSecond))) != nil
    }

    /// Whether a receive would return at once — bytes, the peer's end or an error
    /// waiting: on a connection whose peer should be silent, its hang-up.
    var isReadableNow: Bool {
        (try? Deadline.after(.zero).wait(for: Int16(POLLIN), on: fd)) ?? true
    }

    /// Sets SO_RCVLOWAT: a blocked receive returns, and the reader is woken, only
    /// once this many bytes are queued (or at the stream's end, an error or a
    /// timeout). Kept at or below a quarter of SO_RCVBUF by its caller: above that
    /// the kernel would grow the buffer and clamp the window to fit the mark.
    /// - Returns: whether the kernel took it.
    @discardableResult
    func setReceiveLowWater(_ bytes: Int) -> Bool {
        (try? Syscall.setSocketOption(fd, SOL_SOCKET, SO_RCVLOWAT, Int32(clamping: max(1, bytes)))) != nil
    }

    /// Sets TCP_NODELAY: for a control connection, whose messages are small and
    /// each waits for an answer. With Nagle's algorithm a message written while the
    /// one before it is unacknowledged waits for that acknowledgement, which the
    /// peer delays up to 40 ms: `serve` answering `iperf3 -c` wrote TEST_START and
    /// TEST_RUNNING, and the results and DISPLAY_RESULTS, back to back, and each
    /// test took 80–110 ms longer than against `iperf3 -s` (`strace -tt` of the
    /// client: 43 ms before TEST_START, 48 ms before DISPLAY_RESULTS).
    /// - Returns: whether the kernel took it.
    @discardableResult
    func setNoDelay() -> Bool {
        (try? Syscall.setSocketOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1)) != nil
    }

    /// Sets TCP_NOTSENT_LOWAT: a send takes new bytes only while fewer than this many
    /// wait unsent in the socket buffer (what is in flight is not counted); nil puts
    /// back the `tcp_notsent_lowat` sysctl's value (by default no limit), as if it had
    /// never been set.
    /// - Returns: whether the kernel took it.
    @discardableResult
    func setUnsentLimit(_ bytes: Int?) -> Bool {
        let value = bytes.map { Int32(clamping: max(1, $0)) } ?? 0
        return (try? Syscall.setSocketOption(fd, Int32(IPPROTO_TCP), TCP_NOTSENT_LOWAT, value)) != nil
    }

    func intOption(_ level: Int32, _ name: Int32) -> Int32? {
        Syscall.socketOption(fd, level, name)
    }

    /// The congestion control algorithm of this socket (TCP_CONGESTION).
    public var congestionControl: String? {
        var name = [CChar](repeating: 0, count: 32)
        var length = socklen_t(name.count)
        guard (try? Syscall.call({ getsockopt(fd, Int32(IPPROTO_TCP), TCP_CONGESTION, &name, &length) })) != nil else { return nil }
        return String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Chooses this socket's congestion control; works even where the namespace's
    /// default cannot be changed. On a connected socket it comes too late for some
    /// of what the default algorithm set up (see `connect(_:endpoint:deadline:options:congestion:)`).
    public func setCongestionControl(_ algorithm: String) throws(ConnectionError) {
        do {
            try Syscall.setCongestionControl(fd, algorithm)
        } catch {
            throw ConnectionError(endpoint: endpoint, operation: "setsockopt(TCP_CONGESTION, \(algorithm))", errno: error)
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

/// `--bind ADDR` that cannot be used.
public struct BindError: Error, Equatable, CustomStringConvertible {
    public var address: String
    public var problem: String

    public var description: String { "cannot leave from \(address) (--bind): \(problem)" }
}

/// A TCP connection that failed, said so a person can act on it.
public struct ConnectionError: Error, Equatable, CustomStringConvertible {
    public var endpoint: Endpoint
    public var operation: String
    public var errno: Errno

    public init(endpoint: Endpoint, operation: String, errno: Errno) {
        self.endpoint = endpoint
        self.operation = operation
        self.errno = errno
    }

    public var description: String {
        switch errno {
        case .connectionRefused:
            let server = endpoint.peerProtocol == .iperf3 ? "`iperf3 -s`" : "`nettune serve`"
            return "\(endpoint) refused the connection: nothing listens there (is \(server) running on the peer?)"
        case .timedOut where operation == "connect":
            return "\(endpoint) did not answer (connect timed out): check the address, a firewall, or the route"
        case .timedOut:
            return "\(endpoint) stopped responding (\(operation) timed out)"
        case .noRouteToHost, .networkUnreachable:
            return "\(endpoint) is unreachable: \(errno)"
        case .connectionReset, .brokenPipe:
            return "\(endpoint) closed the connection early (\(operation): \(errno))"
        case .noSuchFileOrDirectory where operation.hasPrefix("setsockopt(TCP_CONGESTION"):
            return "\(operation): this kernel has no such congestion control (see net.ipv4.tcp_available_congestion_control)"
        case .notPermitted where operation.hasPrefix("setsockopt(TCP_CONGESTION"):
            return "\(operation): not allowed here (see net.ipv4.tcp_allowed_congestion_control, or run as root)"
        case .invalidArgument where operation == "connect" && endpoint.isLinkLocalWithoutZone:
            // The kernel's EINVAL says nothing of why: fe80::/10 exists on every link.
            return "connect to \(endpoint) failed: a link-local address needs the interface it is on, e.g. "
                + "[\(endpoint.host)%eth0]:\(endpoint.port)"
        default:
            return "\(operation) to \(endpoint) failed: \(errno)"
        }
    }
}
