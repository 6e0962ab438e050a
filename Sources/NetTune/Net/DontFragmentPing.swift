import Glibc
import SystemPackage

/// ICMP echo requests of an exact size with the don't-fragment bit set, as
/// `ping -M do -s SIZE` sends them: the one check that catches an MTU the path
/// cannot carry. TCP hides such a mismatch — each end's MSS follows its own MTU,
/// so a handshake and even a bulk transfer pass — but a full-sized packet into a
/// smaller link is dropped without a word.
///
/// Needs CAP_NET_RAW (a raw socket), which `nettune try` has as root.
public enum DontFragmentPing {
    public enum Outcome: Equatable, Sendable {
        /// An echo reply came back; the round trip it took.
        case answered(seconds: Double)
        /// No reply to any attempt.
        case lost(attempts: Int)
    }

    /// Sends up to `attempts` echo requests whose IP packets are `packetSize` bytes,
    /// each waiting `perAttempt` for its reply.
    public static func probe(
        _ address: SocketAddress, packetSize: Int, attempts: Int = 3,
        perAttempt: Duration = .seconds(1), interruption: Interruption?
    ) throws -> Outcome {
        let isV6 = address.family == AF_INET6
        let headers = isV6 ? 40 + 8 : 20 + 8
        guard packetSize > headers, packetSize <= 65535 else { throw PingError(address: address, operation: "size", errno: .invalidArgument) }
        let socketFD: Int32
        do {
            socketFD = try Syscall.call {
                socket(
                    address.family, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue),
                    isV6 ? Int32(IPPROTO_ICMPV6) : Int32(IPPROTO_ICMP))
            }
        } catch {
            throw PingError(address: address, operation: "socket", errno: error)
        }
        let fd = FileDescriptor(rawValue: socketFD)
        defer { try? fd.close() }
        // PROBE: set DF (IPv6: never fragment) and ignore any cached path MTU, so the
        // packet leaves at exactly this size or the send fails here.
        do {
            if isV6 {
                try setOption(socketFD, Int32(IPPROTO_IPV6), IPV6_MTU_DISCOVER, IPV6_PMTUDISC_PROBE)
                try setOption(socketFD, Int32(IPPROTO_IPV6), IPV6_DONTFRAG, 1)
            } else {
                try setOption(socketFD, Int32(IPPROTO_IP), IP_MTU_DISCOVER, IP_PMTUDISC_PROBE)
            }
        } catch {
            throw PingError(address: address, operation: "setsockopt", errno: error)
        }
        let identifier = UInt16(truncatingIfNeeded: getpid())
        let clock = ContinuousClock()
        for attempt in 1...max(1, attempts) {
            let sequence = UInt16(attempt)
            let request = echoRequest(identifier: identifier, sequence: sequence, payload: packetSize - headers, isV6: isV6)
            let sent = clock.now
            do {
                _ = try Syscall.call {
                    request.withUnsafeBytes { bytes in address.withSockaddr { sendto(socketFD, bytes.baseAddress, bytes.count, 0, $0, $1) } }
                }
            } catch {
                throw PingError(address: address, operation: "sendto", errno: error)
            }
            let deadline = Deadline.after(perAttempt, interruption: interruption)
            var buffer = [UInt8](repeating: 0, count: 65536)
            while try deadline.wait(for: Int16(POLLIN), on: socketFD) {
                guard let n = try? Syscall.call({ buffer.withUnsafeMutableBytes { recv(socketFD, $0.baseAddress, $0.count, 0) } }) else { continue }
                if isReply(Array(buffer.prefix(n)), identifier: identifier, sequence: sequence, isV6: isV6) {
                    return .answered(seconds: (clock.now - sent).seconds)
                }
            }
        }
        return .lost(attempts: max(1, attempts))
    }

    private static func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32) throws(Errno) {
        var value = value
        try Syscall.call { setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size)) }
    }

    static func echoRequest(identifier: UInt16, sequence: UInt16, payload: Int, isV6: Bool) -> [UInt8] {
        var packet: [UInt8] = [isV6 ? 128 : 8, 0, 0, 0]
        packet.appendBigEndian(identifier)
        packet.appendBigEndian(sequence)
        packet += (0..<payload).map { UInt8(truncatingIfNeeded: $0) }
        if !isV6 {
            // The kernel fills in ICMPv6 checksums itself, not ICMPv4 ones.
            let sum = internetChecksum(packet)
            packet[2] = UInt8(sum >> 8)
            packet[3] = UInt8(sum & 0xFF)
        }
        return packet
    }

    /// An echo reply to our request. IPv4 raw sockets deliver the IP header too.
    static func isReply(_ packet: [UInt8], identifier: UInt16, sequence: UInt16, isV6: Bool) -> Bool {
        var icmp = packet[...]
        if !isV6 {
            guard let first = packet.first, first >> 4 == 4 else { return false }
            let headerLength = Int(first & 0x0F) * 4
            guard headerLength >= 20, packet.count >= headerLength + 8 else { return false }
            icmp = packet[headerLength...]
        }
        guard icmp.count >= 8 else { return false }
        let bytes = Array(icmp)
        return bytes[0] == (isV6 ? 129 : 0) && bytes[1] == 0
            && bytes.readBigEndian(UInt16.self, at: 4) == identifier && bytes.readBigEndian(UInt16.self, at: 6) == sequence
    }

    static func internetChecksum(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var i = 0
        while i + 1 < bytes.count {
            sum += UInt32(bytes[i]) << 8 | UInt32(bytes[i + 1])
            i += 2
        }
        if i < bytes.count { sum += UInt32(bytes[i]) << 8 }
        while sum >> 16 != 0 { sum = (sum & 0xFFFF) + (sum >> 16) }
        return ~UInt16(sum)
    }
}

/// A don't-fragment probe that could not be sent.
public struct PingError: Error, Equatable, CustomStringConvertible {
    public var address: SocketAddress
    public var operation: String
    public var errno: Errno

    public var description: String {
        switch errno {
        case .notPermitted, .permissionDenied:
            return "cannot send don't-fragment probes to \(address.host): raw ICMP sockets need root (CAP_NET_RAW)"
        case .messageTooLong:
            return "the don't-fragment probe to \(address.host) is larger than the interface it leaves by accepts"
        default:
            return "don't-fragment probe to \(address.host): \(operation) failed: \(errno)"
        }
    }
}
