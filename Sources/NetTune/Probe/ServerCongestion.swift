/// A client's choice of congestion control for the sockets the server sends on
/// (`probe --reverse --congestion`, `iperf3 -R -C`): the sender is the one whose
/// congestion control matters, and with the client receiving that is the server.
public enum ServerCongestion {
    /// The congestion controls this kernel has loaded.
    public static let availablePath = "/proc/sys/net/ipv4/tcp_available_congestion_control"

    public static func available(path: String = availablePath) -> [String] {
        guard let text = try? TextFile.read(path, limit: 4096) else { return [] }
        return text.split(whereSeparator: \.isWhitespace).map(String.init)
    }

    /// Why `name` cannot be used on this server, or nil. Only a loaded algorithm is
    /// accepted: a privileged setsockopt(TCP_CONGESTION) would otherwise load the
    /// kernel module `tcp_NAME` at a remote client's word.
    static func refusal(_ name: String, available: [String]) -> String? {
        guard ProbeWire.isCongestionName(name) else { return "that is not the name of a congestion control" }
        if available.contains(name) { return nil }
        if available.isEmpty { return "congestion control \(name) cannot be checked: this server cannot read \(availablePath)" }
        return "congestion control \(name) is not available on this server (it has \(available.joined(separator: ", ")))"
    }

    /// Sets `name` on every connection.
    /// - Returns: why it failed, or nil.
    static func apply(_ name: String, to connections: [TCPConnection]) -> String? {
        for connection in connections {
            do { try connection.setCongestionControl(name) } catch { return "the server could not use congestion control \(name): \(error)" }
        }
        return nil
    }
}
