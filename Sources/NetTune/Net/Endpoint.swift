import Glibc

/// What a probe's peer speaks.
public enum PeerProtocol: String, Sendable, Hashable, Codable {
    /// `nettune serve`.
    case nettune
    /// Any iperf3 3.x server (`iperf3 -s`), written `iperf3://HOST[:PORT]`.
    case iperf3
}

/// `host:port`, `[ipv6]:port`, `iperf3://host[:port]`: where a probe server listens.
public struct Endpoint: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: UInt16
    public var peerProtocol: PeerProtocol

    public init(host: String, port: UInt16, peerProtocol: PeerProtocol = .nettune) {
        self.host = host
        self.port = port
        self.peerProtocol = peerProtocol
    }

    /// `nettune serve`'s port, taken when a peer is named without one.
    public static let defaultPort: UInt16 = 9000

    /// `HOST[:PORT]`, `[V6ADDR][:PORT]` or `iperf3://` followed by either; without
    /// a port, nettune's 9000 or iperf3's 5201.
    public init(parsing text: String) throws(EndpointError) {
        let scheme = "iperf3://"
        let iperf3 = text.lowercased().hasPrefix(scheme)
        let rest = iperf3 ? String(text.dropFirst(scheme.count)) : text
        let bracketed = rest.hasPrefix("[")
        let hasPort = bracketed ? rest.contains("]:") : rest.contains(":")
        if !hasPort {
            // A bare IPv6 address has colons and is read as HOST:PORT (and refused):
            // brackets make it a host.
            guard !rest.isEmpty, !rest.contains("/"), !rest.contains("@"), !rest.contains(" ") else { throw .malformed(text) }
            let host = bracketed ? String(rest.dropFirst().dropLast()) : rest
            guard !host.isEmpty, !bracketed || rest.hasSuffix("]") else { throw .malformed(text) }
            self.init(host: host, port: iperf3 ? IperfWire.defaultPort : Self.defaultPort, peerProtocol: iperf3 ? .iperf3 : .nettune)
        } else {
            try self.init(hostAndPort: rest)
            peerProtocol = iperf3 ? .iperf3 : .nettune
        }
    }

    private init(hostAndPort text: String) throws(EndpointError) {
        peerProtocol = .nettune
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw .malformed(text)
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") else { throw .malformed(text) }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty else { throw .malformed(text) }
        guard let port = UInt16(portText), port > 0 else { throw .badPort(text) }
        self.host = String(host)
        self.port = port
    }

    /// An IPv6 link-local address (fe80::/10) with no `%interface`: every link has
    /// one, so the kernel cannot tell which is meant.
    var isLinkLocalWithoutZone: Bool {
        guard !host.contains("%"), let first = host.split(separator: ":", omittingEmptySubsequences: false).first,
            let group = UInt16(first, radix: 16)
        else { return false }
        return host.contains(":") && group & 0xffc0 == 0xfe80
    }

    public var description: String {
        let address = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        return peerProtocol == .iperf3 ? "iperf3://" + address : address
    }

    /// Socket addresses for this endpoint, from getaddrinfo (numeric or a name;
    /// a link-local IPv6 address keeps its `%interface` scope). A name is looked up
    /// within `NameLookup.limit`, and a signal through `interruption` ends the wait.
    public func resolve(family: ConnectOptions.Family = .any, interruption: Interruption? = nil) throws -> [SocketAddress] {
        try NameLookup.addresses(host: host, port: port, family: family.value, interruption: interruption)
    }

    static func addresses(host: String, port: UInt16, family: Int32, flags: Int32) throws(EndpointError) -> [SocketAddress] {
        try lookup(host: host, port: port, family: family, flags: flags).get()
    }

    /// getaddrinfo itself, which may wait on name servers for as long as
    /// resolv.conf lets it: only `NameLookup` calls it for a name.
    static func lookup(host: String, port: UInt16, family: Int32, flags: Int32) -> Result<[SocketAddress], EndpointError> {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = family
        hints.ai_flags = flags
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            var reason = gai_strerror(rc).map { String(cString: $0) } ?? "error \(rc)"
            // "Address family not supported" or "no address": the family asked for is missing.
            // glibc's EAI_ADDRFAMILY (-9) and EAI_NODATA (-5) need _GNU_SOURCE, which Swift's Glibc lacks.
            if rc == -9 || rc == -5 || rc == EAI_NONAME {
                if family == AF_INET { reason += " (with -4: no IPv4 address)" }
                if family == AF_INET6 { reason += " (with -6: no IPv6 address)" }
            }
            return .failure(.unresolvable(host: host, reason: reason, numericOnly: flags & AI_NUMERICHOST != 0 && rc == EAI_NONAME))
        }
        defer { freeaddrinfo(first) }
        var addresses: [SocketAddress] = []
        var current: UnsafeMutablePointer<addrinfo>? = first
        while let entry = current {
            if let address = entry.pointee.ai_addr {
                addresses.append(SocketAddress(address, length: entry.pointee.ai_addrlen))
            }
            current = entry.pointee.ai_next
        }
        return .success(addresses)
    }
}

public enum EndpointError: Error, Equatable, CustomStringConvertible {
    case malformed(String)
    case badPort(String)
    /// `numericOnly`: asked for a numeric address only, and `host` is a name.
    case unresolvable(host: String, reason: String, numericOnly: Bool = false)

    public var description: String {
        switch self {
        case .malformed(let text): return "'\(text)' is not HOST[:PORT] or iperf3://HOST[:PORT] (write IPv6 addresses as [::1]:9000)"
        case .badPort(let text): return "'\(text)' has no valid port (1–65535)"
        case .unresolvable(let host, let reason, _): return "cannot resolve '\(host)': \(reason)"
        }
    }
}

/// A socket address of any family, copied out of C storage.
public struct SocketAddress: Sendable, Equatable {
    var storage: sockaddr_storage
    var length: socklen_t

    init(_ address: UnsafePointer<sockaddr>, length: socklen_t) {
        var storage = sockaddr_storage()
        withUnsafeMutableBytes(of: &storage) { target in
            target.copyMemory(from: UnsafeRawBufferPointer(start: address, count: Int(length)))
        }
        self.storage = storage
        self.length = length
    }

    var family: Int32 { Int32(storage.ss_family) }

    func withSockaddr<T>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        withUnsafeBytes(of: storage) { raw in
            body(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), length)
        }
    }

    public static func == (a: SocketAddress, b: SocketAddress) -> Bool {
        a.length == b.length
            && withUnsafeBytes(of: a.storage) { x in
                withUnsafeBytes(of: b.storage) { y in x.prefix(Int(a.length)).elementsEqual(y.prefix(Int(b.length))) }
            }
    }
}
