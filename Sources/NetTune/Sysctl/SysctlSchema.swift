/// The shape of the values of the sysctls nettune knows, so a profile value with
/// the wrong number of fields is refused when the profile is read, not half
/// accepted by the kernel. Keys not listed here are still checked after writing:
/// the executor compares what the kernel kept with what was written.
public enum SysctlSchema {
    public enum Shape: Equatable, Sendable {
        /// Exactly this many integers.
        case integers(Int)
        /// One word, such as a congestion control algorithm or a qdisc.
        case word
        /// One or more words.
        case words

        var text: String {
            switch self {
            case .integers(1): return "one integer"
            case .integers(let n): return "\(n) integers"
            case .word: return "one name"
            case .words: return "a space-separated list of names"
            }
        }
    }

    static let shapes: [String: Shape] = {
        var table: [String: Shape] = [:]
        for name in ["net.ipv4.tcp_wmem", "net.ipv4.tcp_rmem", "net.ipv4.tcp_mem", "net.ipv4.udp_mem"] {
            table[name] = .integers(3)
        }
        for name in ["net.ipv4.ip_local_port_range", "net.ipv4.ping_group_range"] { table[name] = .integers(2) }
        for name in ["net.ipv4.tcp_congestion_control", "net.core.default_qdisc"] { table[name] = .word }
        table["net.ipv4.tcp_allowed_congestion_control"] = .words
        for name in [
            "net.core.rmem_max", "net.core.wmem_max", "net.core.rmem_default", "net.core.wmem_default",
            "net.core.optmem_max", "net.core.netdev_max_backlog", "net.core.netdev_budget", "net.core.somaxconn",
            "net.core.busy_poll", "net.core.busy_read",
            "net.ipv4.tcp_window_scaling", "net.ipv4.tcp_mtu_probing", "net.ipv4.tcp_base_mss",
            "net.ipv4.tcp_mtu_probe_floor", "net.ipv4.tcp_min_snd_mss", "net.ipv4.tcp_slow_start_after_idle",
            "net.ipv4.tcp_moderate_rcvbuf", "net.ipv4.tcp_timestamps", "net.ipv4.tcp_sack", "net.ipv4.tcp_dsack",
            "net.ipv4.tcp_no_metrics_save", "net.ipv4.tcp_ecn", "net.ipv4.tcp_fastopen", "net.ipv4.tcp_tw_reuse",
            "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_keepalive_intvl",
            "net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_notsent_lowat", "net.ipv4.tcp_adv_win_scale",
            "net.ipv4.tcp_app_win", "net.ipv4.tcp_limit_output_bytes", "net.ipv4.tcp_autocorking",
            "net.ipv4.tcp_max_syn_backlog", "net.ipv4.tcp_syn_retries", "net.ipv4.tcp_synack_retries",
            "net.ipv4.tcp_retries2", "net.ipv4.tcp_frto", "net.ipv4.tcp_reordering", "net.ipv4.tcp_max_reordering",
            "net.ipv4.ip_forward", "net.ipv4.ip_no_pmtu_disc", "net.ipv4.tcp_syncookies",
            "net.ipv4.tcp_pacing_ss_ratio", "net.ipv4.tcp_pacing_ca_ratio", "net.ipv4.tcp_tso_win_divisor"
        ] {
            table[name] = .integers(1)
        }
        return table
    }()

    /// The shape of `key`'s value, when nettune knows it.
    public static func shape(of key: SysctlKey) -> Shape? { shapes[key.name] }

    /// Why `value` cannot be `key`'s, or nil when it fits (or the key is unknown).
    public static func problem(with value: String, for key: SysctlKey) -> String? {
        guard let shape = shape(of: key) else { return nil }
        let fields = SysctlValue.fields(value)
        let fits: Bool
        switch shape {
        case .integers(let count): fits = fields.count == count && fields.allSatisfy { Int64($0) != nil }
        case .word: fits = fields.count == 1 && Int64(fields[0]) == nil
        case .words: fits = !fields.isEmpty
        }
        return fits ? nil : "takes \(shape.text), not '\(value)'"
    }
}
