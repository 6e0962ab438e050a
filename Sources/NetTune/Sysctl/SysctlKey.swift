/// A validated sysctl key under `net.`, such as `net.ipv4.tcp_wmem`.
///
/// Accepts the dotted form (`net.ipv4.tcp_wmem`) and the path form
/// (`net/ipv4/tcp_wmem`). As in sysctl(8), a `/` inside a dotted key stands for a
/// `.` inside one path component (`net.ipv4.conf.eth0/100.mtu` is the VLAN
/// `eth0.100`). Keys that could leave `/proc/sys/net` are refused.
public struct SysctlKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Path components below `/proc/sys`, e.g. `["net", "ipv4", "tcp_wmem"]`.
    public let components: [String]

    public init(_ text: String) throws(SysctlKeyError) {
        let trimmed = text.trimmingWhitespace()
        guard !trimmed.isEmpty else { throw SysctlKeyError(key: text, reason: .empty) }
        // "." and ".." between slashes could walk out of /proc/sys/net, whatever the form.
        if trimmed.split(separator: "/").contains(where: { $0 == "." || $0 == ".." }) {
            throw SysctlKeyError(key: text, reason: .escapes)
        }
        let parts: [String]
        if trimmed.hasPrefix("/") {
            throw SysctlKeyError(key: text, reason: .absolutePath)
        } else if trimmed.hasPrefix("net/") {
            parts = trimmed.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        } else {
            parts = trimmed.split(separator: ".", omittingEmptySubsequences: false).map {
                String($0).replacingAll("/", with: ".")
            }
        }
        for part in parts {
            if part.isEmpty { throw SysctlKeyError(key: text, reason: .emptyComponent) }
            if part == "." || part == ".." { throw SysctlKeyError(key: text, reason: .escapes) }
            if let bad = part.unicodeScalars.first(where: { !Self.allowed($0) }) {
                throw SysctlKeyError(key: text, reason: .badCharacter(Character(bad)))
            }
        }
        guard parts.first == "net", parts.count >= 2 else {
            throw SysctlKeyError(key: text, reason: .notNetwork)
        }
        components = parts
    }

    /// The dotted name sysctl(8) prints.
    public var name: String {
        components.map { $0.replacingAll(".", with: "/") }.joined(separator: ".")
    }

    /// The path relative to `/proc/sys`.
    public var relativePath: String { components.joined(separator: "/") }

    public var description: String { name }

    public static func < (lhs: SysctlKey, rhs: SysctlKey) -> Bool { lhs.name < rhs.name }

    // Interface names may hold most printable characters, but never `/` or NUL;
    // keep to what real sysctl keys and interface names use.
    private static func allowed(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", "_", "-", ".", ":", "@", "+": return true
        default: return false
        }
    }
}

extension SysctlKey {
    public static let tcpWmem = known("net.ipv4.tcp_wmem")
    public static let tcpRmem = known("net.ipv4.tcp_rmem")
    public static let coreWmemMax = known("net.core.wmem_max")
    public static let coreRmemMax = known("net.core.rmem_max")
    public static let coreWmemDefault = known("net.core.wmem_default")
    public static let coreRmemDefault = known("net.core.rmem_default")
    public static let tcpMem = known("net.ipv4.tcp_mem")
    public static let tcpCongestionControl = known("net.ipv4.tcp_congestion_control")
    public static let tcpWindowScaling = known("net.ipv4.tcp_window_scaling")
    public static let tcpMtuProbing = known("net.ipv4.tcp_mtu_probing")
    public static let coreDefaultQdisc = known("net.core.default_qdisc")
    public static let tcpSlowStartAfterIdle = known("net.ipv4.tcp_slow_start_after_idle")
    public static let tcpModerateRcvbuf = known("net.ipv4.tcp_moderate_rcvbuf")

    /// The sysctls `nettune show` reports: the TCP buffers and the neighbours that
    /// decide whether a change to them takes effect.
    public static let shown: [SysctlKey] = [
        .tcpWmem, .tcpRmem, .coreWmemMax, .coreRmemMax, .coreWmemDefault, .coreRmemDefault,
        .tcpMem, .tcpCongestionControl, .tcpWindowScaling, .tcpMtuProbing, .coreDefaultQdisc, .tcpSlowStartAfterIdle,
        .tcpModerateRcvbuf
    ]

    private static func known(_ name: String) -> SysctlKey {
        do { return try SysctlKey(name) } catch { fatalError("built-in sysctl key \(name) is invalid: \(error)") }
    }
}

public struct SysctlKeyError: Error, Equatable, CustomStringConvertible {
    public enum Reason: Equatable, Sendable {
        case empty, emptyComponent, absolutePath, escapes, notNetwork
        case badCharacter(Character)
    }
    public let key: String
    public let reason: Reason

    public var description: String {
        switch reason {
        case .empty: return "empty sysctl key"
        case .emptyComponent: return "sysctl key '\(key)' has an empty component; write it like net.ipv4.tcp_wmem"
        case .absolutePath: return "sysctl key '\(key)' is an absolute path; write it like net.ipv4.tcp_wmem"
        case .escapes: return "sysctl key '\(key)' contains '.' or '..' components that would leave /proc/sys"
        case .notNetwork: return "sysctl key '\(key)' is outside net.; nettune only reads and writes net.* keys"
        case .badCharacter(let c): return "sysctl key '\(key)' contains the character '\(c)'; keys use letters, digits, '_' and '-'"
        }
    }
}
