/// `nettune recommend`: a profile sized from a measurement, overriding only what
/// the measurement justifies.
public struct Recommendation: Equatable, Sendable {
    public var sysctls: [SysctlKey: String]
    public var mtu: Int?
    /// One line per decision, with its numbers: written as comments into the profile.
    public var reasons: [String]
    public var interface: String?

    /// The profile as TOML: includes kernel-default, then only the justified overrides.
    public func toml(name: String, peer: Endpoint, throughput: Double) -> String {
        var out = "# \(name) — recommended by `nettune recommend \(peer)` from a measured \(BitRate(bitsPerSecond: throughput)).\n"
        for reason in reasons { out += "# \(reason)\n" }
        out += "version = \(Profile.supportedVersion)\n"
        out += "description = \"Measured for \(peer): \(sysctls.isEmpty && mtu == nil ? "kernel defaults suffice" : "sized from the BDP")\"\n"
        out += "include = [\"kernel-default\"]\n"
        if !sysctls.isEmpty {
            out += "\n[sysctl]\n"
            for (key, value) in sysctls.sorted(by: { $0.key < $1.key }) { out += "\(key.name) = \"\(value)\"\n" }
        }
        if let mtu {
            out += "\n[link]\nmtu = \(mtu)\n"
            if let interface { out += "interface = \"\(interface)\"\n" }
        }
        return out
    }
}

public enum Recommender {
    /// Kernel defaults' maxima: below these nothing needs raising.
    static let defaultWmemMax = 4 << 20
    static let defaultRmemMax = 6 << 20
    /// Buffers are sized to this multiple of the BDP: the receive side gives only
    /// half its buffer to the window (tcp_adv_win_scale 1), and queues and RTT
    /// variation need room on top.
    static let headroom = 4

    /// - Parameters:
    ///   - pathGoodput: what the path carries (a shaper's or link's rate less
    ///     headers), bit/s, where known. A window-bound transfer measures less
    ///     than the path can carry, and sizing from that would keep it bound.
    ///   - memoryBytes: the machine's RAM; one socket may not take more than 1/32 of it.
    ///   - tcpMemPages: `net.ipv4.tcp_mem` where visible; one socket is kept below its pressure threshold.
    public static func recommend(
        throughput: Double, pathGoodput: Double? = nil, minRTTSeconds: Double, pathMTU: Int?, interfaceMTU: Int?,
        interface: String?, bottleneck: Diagnosis.Bottleneck, mostlySlowStart: Bool = false, memoryBytes: Int?,
        tcpMemPages: TCPBufferTriple?
    ) -> Recommendation {
        var reasons: [String] = []
        var sysctls: [SysctlKey: String] = [:]
        let rate = max(throughput, pathGoodput ?? 0)
        let bdp = Int(rate * minRTTSeconds / 8)
        let source = rate > throughput ? "; the path carries \(BitRate(bitsPerSecond: rate))" : ""
        reasons.append(
            "Measured: \(BitRate(bitsPerSecond: throughput)) at a minimum RTT of \(Diagnoser.microseconds(minRTTSeconds))\(source); BDP \(ByteCount(bdp)); bottleneck \(bottleneck.rawValue)."
        )

        var wanted = nextPowerOfTwo(max(bdp * headroom, 1))
        var caps: [(Int, String)] = []
        if let memoryBytes { caps.append((memoryBytes / 32, "1/32 of \(ByteCount(memoryBytes)) of RAM")) }
        if let tcpMemPages { caps.append((tcpMemPages.default * 4096 / 4, "a quarter of tcp_mem's pressure threshold")) }
        if let cap = caps.min(by: { $0.0 < $1.0 }), wanted > cap.0 {
            reasons.append("Capped at \(ByteCount(cap.0)) (\(cap.1)); \(ByteCount(wanted)) would be needed.")
            wanted = cap.0
        }
        if wanted > defaultWmemMax {
            sysctls[.tcpWmem] = "4096 131072 \(wanted)"
            reasons.append("tcp_wmem max \(ByteCount(wanted)) = \(headroom) × BDP, above the kernel's \(ByteCount(defaultWmemMax)).")
        } else {
            reasons.append(
                "\(headroom) × BDP = \(ByteCount(bdp * headroom)) fits in the kernel's tcp_wmem max of \(ByteCount(defaultWmemMax)): no send-buffer change."
            )
        }
        if wanted > defaultRmemMax {
            sysctls[.tcpRmem] = "4096 131072 \(wanted)"
            reasons.append("tcp_rmem max \(ByteCount(wanted)) on the receiver too (this profile is for the sender; apply it on both ends).")
        }
        if bottleneck == .linkRate || bottleneck == .senderCPU || bottleneck == .receiverCPU {
            reasons.append("The transfer was \(bottleneck.rawValue) bound: buffers were not what held it back.")
        }
        if mostlySlowStart, rate == throughput {
            reasons.append(
                "Slow start was a large share of these runs, so the BDP from their throughput is a floor: `recommend --time 10s` measures the steady state."
            )
        }
        // Sized from a throughput the buffer itself cut, the profile is a step, not
        // the answer: each round of measuring and applying can only see further.
        if rate == throughput, bottleneck == .sendBuffer || bottleneck == .receiveWindow {
            let limit = bottleneck == .sendBuffer ? "send buffer" : "receive window"
            reasons.append(
                "The \(limit) held this transfer back and the path's rate is not known here, so the path may carry more than the measured \(BitRate(bitsPerSecond: throughput)): apply this profile and run recommend again until the bottleneck is not a buffer."
            )
        }

        var mtu: Int?
        if let pathMTU, let interfaceMTU, pathMTU > 0, pathMTU < interfaceMTU {
            mtu = pathMTU
            sysctls[.tcpMtuProbing] = "1"
            reasons.append(
                "The path carries \(pathMTU)-byte packets but \(interface ?? "the interface") uses \(interfaceMTU): MTU \(pathMTU) avoids fragmentation and black holes; MTU probing on."
            )
        } else if let pathMTU, pathMTU > 0 {
            reasons.append("The path carries the interface's full MTU (\(pathMTU)): no MTU change.")
        }
        return Recommendation(sysctls: sysctls, mtu: mtu, reasons: reasons, interface: mtu == nil ? nil : interface)
    }

    static func nextPowerOfTwo(_ value: Int) -> Int {
        var power = 1
        while power < value && power < Int.max / 2 { power <<= 1 }
        return power
    }

    /// MemTotal from /proc/meminfo, in bytes.
    public static func memoryBytes(meminfo: String?) -> Int? { MemInfo.bytes("MemTotal", in: meminfo) }
}
