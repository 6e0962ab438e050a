import CNetlink
import Glibc
import SystemPackage

/// A listening TCP socket, closed when the value goes away.
public final class TCPListener: Sendable {
    public let fd: Int32
    public let address: SocketAddress

    /// Binds `host` (nil: all addresses, IPv6 dual-stack where available) and `port`
    /// (0: the kernel picks one). With `reusePort`, a second listener can take the
    /// same port while this one still holds it (SO_REUSEPORT, same user only). With
    /// `congestion`, every connection it accepts uses that algorithm from its
    /// handshake on (an accepted socket switched later stays paced if the default
    /// was BBR: `TCPConnection.connect(_:endpoint:deadline:options:congestion:)`).
    /// With `exclusive` as well, the port must be free first: SO_REUSEPORT would
    /// otherwise let this listener join another's (a second `nettune serve` on the
    /// port), and the kernel would share the connections between them.
    public init(
        host: String?, port: UInt16, backlog: Int32 = 64, reusePort: Bool = false, exclusive: Bool = false, congestion: String? = nil
    ) throws(ListenError) {
        let candidates: [SocketAddress]
        if let host {
            do {
                candidates = try Endpoint(host: host, port: port).resolve()
            } catch {
                throw ListenError(what: "\(host):\(port)", errno: .invalidArgument, detail: "\(error)")
            }
        } else {
            candidates = [SocketAddress.any(family: AF_INET6, port: port), SocketAddress.any(family: AF_INET, port: port)]
        }
        var lastError = ListenError(what: "port \(port)", errno: .addressNotAvailable)
        for candidate in candidates {
            let fd: Int32
            do {
                fd = try Syscall.call {
                    socket(candidate.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
                }
            } catch {
                lastError = ListenError(what: candidate.description, errno: error)
                continue
            }
            var failedOption: String?
            do {
                if exclusive && port != 0 { try Self.requireFree(candidate) }
                try Syscall.setSocketOption(fd, SOL_SOCKET, SO_REUSEADDR, 1)
                if reusePort { try Syscall.setSocketOption(fd, SOL_SOCKET, SO_REUSEPORT, 1) }
                if candidate.family == AF_INET6 && host == nil {
                    try Syscall.setSocketOption(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, 0)
                }
                if let congestion {
                    failedOption = "setsockopt(TCP_CONGESTION, \(congestion))"
                    try Syscall.setCongestionControl(fd, congestion)
                    failedOption = nil
                }
                try Syscall.call { candidate.withSockaddr { bind(fd, $0, $1) } }
                try Syscall.call { listen(fd, backlog) }
                self.fd = fd
                self.address = SocketAddress.local(of: fd) ?? candidate
                return
            } catch {
                lastError = ListenError(what: candidate.description, errno: error, detail: failedOption.map { "\($0): \(error)" })
                Syscall.close(fd)
            }
        }
        throw lastError
    }

    deinit { Syscall.close(fd) }

    /// Binds a throw-away socket without SO_REUSEPORT to `address`: it fails with
    /// EADDRINUSE while anything listens there, SO_REUSEPORT or not.
    private static func requireFree(_ address: SocketAddress) throws(Errno) {
        let probe = try Syscall.call { socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
        defer { Syscall.close(probe) }
        try Syscall.setSocketOption(probe, SOL_SOCKET, SO_REUSEADDR, 1)
        if address.family == AF_INET6 { try Syscall.setSocketOption(probe, Int32(IPPROTO_IPV6), IPV6_V6ONLY, 0) }
        try Syscall.call { address.withSockaddr { bind(probe, $0, $1) } }
    }

    public var port: UInt16 { address.port }

    /// A connection already waiting, without waiting for one.
    public func acceptWaiting() throws -> TCPConnection? {
        try accept(deadline: Deadline(.now))
    }

    /// Waits for a connection until the deadline (nil when it passes first).
    public func accept(deadline: Deadline) throws -> TCPConnection? {
        while true {
            do {
                let client = try Syscall.call { CNetlink.accept4(fd, nil, nil, Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue)) }
                let peer = SocketAddress.remote(of: client)
                return TCPConnection(adopting: client, endpoint: Endpoint(host: peer?.host ?? "?", port: peer?.port ?? 0))
            } catch {
                // A client that reset before we accepted it is not our failure.
                if error == .connectionAbort || error == .protocolError { continue }
                guard error == .wouldBlock else { throw error }
                guard try deadline.wait(for: Int16(POLLIN), on: fd) else { return nil }
            }
        }
    }
}

public struct ListenError: Error, Equatable, CustomStringConvertible {
    public var what: String
    public var errno: Errno
    public var detail: String?

    public var description: String {
        if let detail { return "cannot listen on \(what): \(detail)" }
        switch errno {
        case .addressInUse: return "cannot listen on \(what): the port is in use (another `nettune serve`?)"
        case .permissionDenied: return "cannot listen on \(what): ports below 1024 need root"
        case .addressNotAvailable: return "cannot listen on \(what): no such local address"
        default: return "cannot listen on \(what): \(errno)"
        }
    }
}

extension SocketAddress: CustomStringConvertible {
    /// The wildcard address of a family.
    static func any(family: Int32, port: UInt16) -> SocketAddress {
        if family == AF_INET6 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = port.bigEndian
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { SocketAddress($0, length: socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { SocketAddress($0, length: socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }

    static func local(of fd: Int32) -> SocketAddress? { query(fd, getsockname) }
    static func remote(of fd: Int32) -> SocketAddress? { query(fd, getpeername) }

    private static func query(_ fd: Int32, _ call: (Int32, UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> Int32)
        -> SocketAddress?
    {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let ok = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { call(fd, $0, &length) == 0 }
        }
        guard ok else { return nil }
        return withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { SocketAddress($0, length: length) }
        }
    }

    /// The numeric host, with IPv4-mapped IPv6 addresses shown as IPv4.
    public var host: String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        return withUnsafeBytes(of: storage) { raw -> String in
            let base = raw.baseAddress!
            if family == AF_INET {
                let address = base.assumingMemoryBound(to: sockaddr_in.self)
                var inAddr = address.pointee.sin_addr
                inet_ntop(AF_INET, &inAddr, &text, socklen_t(text.count))
            } else if family == AF_INET6 {
                let address = base.assumingMemoryBound(to: sockaddr_in6.self)
                var in6 = address.pointee.sin6_addr
                inet_ntop(AF_INET6, &in6, &text, socklen_t(text.count))
            }
            let string = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return string.hasPrefix("::ffff:") && string.contains(".") ? String(string.dropFirst(7)) : string
        }
    }

    public var port: UInt16 {
        withUnsafeBytes(of: storage) { raw in
            family == AF_INET6
                ? UInt16(bigEndian: raw.load(as: sockaddr_in6.self).sin6_port)
                : UInt16(bigEndian: raw.load(as: sockaddr_in.self).sin_port)
        }
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
