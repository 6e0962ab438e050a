/// What this process may do to the network.
public enum Privileges {
    static let capNetAdmin = 12

    /// Whether the effective capability set holds CAP_NET_ADMIN — what writing
    /// `/proc/sys/net` and changing an MTU need. Read from `/proc/self/status`.
    public static func hasNetAdmin() -> Bool {
        guard let status = try? TextFile.read("/proc/self/status") else { return false }
        for line in status.split(separator: "\n") where line.hasPrefix("CapEff:") {
            let hex = String(line.dropFirst("CapEff:".count)).trimmingWhitespace()
            guard let mask = UInt64(hex, radix: 16) else { return false }
            return mask & (1 << UInt64(capNetAdmin)) != 0
        }
        return false
    }
}
