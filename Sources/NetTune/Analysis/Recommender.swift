/// `nettune recommend`: a profile sized from a measurement, overriding only what
/// the measurement justifies.
public struct Recommendation: Equatable, Sendable {
    public var sysctls: [SysctlKey: String]
    public var mtu: Int?
    /// One line per decision, with its numbers: written as comments into the profile.
    public var reasons: [String]
    public var interface: String?
    /// What it was sized from, one entry per direction.
    public var measured: [Recommender.Measured]

    public init(
        sysctls: [SysctlKey: String], mtu: Int?, reasons: [String], interface: String?, measured: [Recommender.Measured] = []
    ) {
        self.sysctls = sysctls
        self.mtu = mtu
        self.reasons = reasons
        self.interface = interface
        self.measured = measured
    }

    /// The profile every recommendation includes, then overrides.
    public static let base = "kernel-default"

    /// The profile as TOML: includes kernel-default, then only the justified overrides.
    /// - Parameter name: the profile's name when it is written as NAME.toml; nil when
    ///   printed for the user to save.
    public func toml(name: String?, peer: Endpoint) -> String {
        let ways = Set(measured.map(\.direction))
        let flag = ways == [.receive] ? " -R" : ways.count > 1 ? " --bidir" : ""
        let rates = measured.map { one in
            BitRate(bitsPerSecond: one.throughput).description + (measured.count > 1 ? (one.direction == .send ? " sending" : " receiving") : "")
        }
        var out =
            (name.map { "# \($0) — recommended by" } ?? "# Recommended by")
            + " `nettune recommend \(peer)\(flag)` from a measured \(rates.joined(separator: " and "))"
            + (ways == [.receive] ? " receiving" : "") + ".\n"
        for reason in reasons { out += "# \(reason)\n" }
        out += "version = \(Profile.supportedVersion)\n"
        out += "description = \"Measured for \(peer): \(sysctls.isEmpty && mtu == nil ? "kernel defaults suffice" : "sized from the BDP")\"\n"
        out += "include = [\"\(Self.base)\"]\n"
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

    /// What one direction of the probe measured, for sizing its buffers.
    public struct Measured: Equatable, Sendable {
        /// `.send` (this machine sent) or `.receive` (the server sent).
        public var direction: ProbeDirection
        public var throughput: Double
        /// What the path carries (a shaper's or link's rate less headers), bit/s,
        /// where known. A window-bound transfer measures less than the path can
        /// carry, and sizing from that would keep it bound.
        public var pathGoodput: Double?
        public var minRTTSeconds: Double
        public var bottleneck: Diagnosis.Bottleneck
        public var mostlySlowStart: Bool

        public init(
            direction: ProbeDirection, throughput: Double, pathGoodput: Double? = nil, minRTTSeconds: Double,
            bottleneck: Diagnosis.Bottleneck, mostlySlowStart: Bool = false
        ) {
            self.direction = direction
            self.throughput = throughput
            self.pathGoodput = pathGoodput
            self.minRTTSeconds = minRTTSeconds
            self.bottleneck = bottleneck
            self.mostlySlowStart = mostlySlowStart
        }

        /// The rate the BDP is computed from: the path's where known and higher.
        var rate: Double { max(throughput, pathGoodput ?? 0) }
        var bdp: Int { Int(rate * minRTTSeconds / 8) }
    }

    /// One direction, this machine sending.
    public static func recommend(
        throughput: Double, pathGoodput: Double? = nil, minRTTSeconds: Double, pathMTU: Int?, interfaceMTU: Int?,
        interface: String?, bottleneck: Diagnosis.Bottleneck, mostlySlowStart: Bool = false, memoryBytes: Int?,
        tcpMemPages: TCPBufferTriple?
    ) -> Recommendation {
        recommend(
            [
                Measured(
                    direction: .send, throughput: throughput, pathGoodput: pathGoodput, minRTTSeconds: minRTTSeconds,
                    bottleneck: bottleneck, mostlySlowStart: mostlySlowStart)
            ], pathMTU: pathMTU, interfaceMTU: interfaceMTU, interface: interface, memoryBytes: memoryBytes, tcpMemPages: tcpMemPages)
    }

    /// A profile for both ends of the path, sized from the larger BDP of the
    /// directions measured: `tcp_wmem` acts on the end that sends and `tcp_rmem` on
    /// the one that receives, so a profile applied on both covers either way.
    /// - Parameters:
    ///   - measured: one entry per direction measured (the first speaks for the
    ///     path when only one was).
    ///   - memoryBytes: the machine's RAM; one socket may not take more than 1/32 of it.
    ///   - tcpMemPages: `net.ipv4.tcp_mem` where visible; one socket is kept below its pressure threshold.
    public static func recommend(
        _ measured: [Measured], pathMTU: Int?, interfaceMTU: Int?, interface: String?, memoryBytes: Int?, tcpMemPages: TCPBufferTriple?
    ) -> Recommendation {
        var reasons: [String] = []
        var sysctls: [SysctlKey: String] = [:]
        let both = measured.count > 1
        // "Measured:" for a probe that only sent, as it always has; else which way.
        func label(_ one: Measured) -> String {
            !both && one.direction == .send ? "" : one.direction == .send ? " sending" : " receiving (the server sent)"
        }
        for one in measured {
            let source = one.rate > one.throughput ? "; the path carries \(BitRate(bitsPerSecond: one.rate))" : ""
            reasons.append(
                "Measured\(label(one)): \(BitRate(bitsPerSecond: one.throughput)) at a minimum RTT of \(Diagnoser.microseconds(one.minRTTSeconds))\(source); BDP \(ByteCount(one.bdp)); bottleneck \(one.bottleneck.rawValue)."
            )
        }
        let bdp = measured.map(\.bdp).max() ?? 0
        if both { reasons.append("Sized from the larger BDP, \(ByteCount(bdp)): one profile serves both directions.") }

        var wanted = nextPowerOfTwo(max(bdp * headroom, 1))
        var caps: [(Int, String)] = []
        if let memoryBytes { caps.append((memoryBytes / 32, "1/32 of \(ByteCount(memoryBytes)) of RAM")) }
        if let tcpMemPages { caps.append((tcpMemPages.default * 4096 / 4, "a quarter of tcp_mem's pressure threshold")) }
        if let cap = caps.min(by: { $0.0 < $1.0 }), wanted > cap.0 {
            reasons.append("Capped at \(ByteCount(cap.0)) (\(cap.1)); \(ByteCount(wanted)) would be needed.")
            wanted = cap.0
        }
        // Which end each buffer acts on: this machine's where it moved bytes that
        // way, else the server's, which the profile must then be applied on too.
        let sent = measured.contains { $0.direction == .send }
        let received = measured.contains { $0.direction == .receive }
        if wanted > defaultWmemMax {
            sysctls[.tcpWmem] = "4096 131072 \(wanted)"
            reasons.append(
                "tcp_wmem max \(ByteCount(wanted)) = \(headroom) × BDP, above the kernel's \(ByteCount(defaultWmemMax))"
                    + (sent ? "." : ", for the server, which sent (this profile is for the receiver; apply it on both ends)."))
        } else {
            reasons.append(
                "\(headroom) × BDP = \(ByteCount(bdp * headroom)) fits in the kernel's tcp_wmem max of \(ByteCount(defaultWmemMax)): no send-buffer change."
            )
        }
        if wanted > defaultRmemMax {
            sysctls[.tcpRmem] = "4096 131072 \(wanted)"
            reasons.append(
                received
                    ? "tcp_rmem max \(ByteCount(wanted)) = \(headroom) × BDP, above the kernel's \(ByteCount(defaultRmemMax))."
                    : "tcp_rmem max \(ByteCount(wanted)) on the receiver too (this profile is for the sender; apply it on both ends).")
        }
        for one in measured {
            let transfer = both ? (one.direction == .send ? "Sending" : "Receiving") : "The transfer"
            if one.bottleneck == .linkRate || one.bottleneck == .senderCPU || one.bottleneck == .receiverCPU {
                reasons.append("\(transfer) was \(one.bottleneck.rawValue) bound: buffers were not what held it back.")
            }
            if one.mostlySlowStart, one.rate == one.throughput {
                reasons.append(
                    "Slow start was a large share of \(both ? transfer.lowercased() + "'s" : "these") runs, so the BDP from their throughput is a floor: `recommend --time 10s` measures the steady state."
                )
            }
            // Sized from a throughput the buffer itself cut, the profile is a step, not
            // the answer: each round of measuring and applying can only see further.
            if one.rate == one.throughput, one.bottleneck == .sendBuffer || one.bottleneck == .receiveWindow {
                let limit = one.bottleneck == .sendBuffer ? "send buffer" : "receive window"
                reasons.append(
                    "The \(limit) held \(both ? transfer.lowercased() : "this transfer") back and the path's rate is not known here, so the path may carry more than the measured \(BitRate(bitsPerSecond: one.throughput)): apply this profile and run recommend again until the bottleneck is not a buffer."
                )
            }
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
        } else if !sent {
            reasons.append("MTU not checked: the path MTU is measured where this machine sends (recommend without -R, or --bidir).")
        }
        return Recommendation(
            sysctls: sysctls, mtu: mtu, reasons: reasons, interface: mtu == nil ? nil : interface, measured: measured)
    }

    static func nextPowerOfTwo(_ value: Int) -> Int {
        var power = 1
        while power < value && power < Int.max / 2 { power <<= 1 }
        return power
    }

    /// MemTotal from /proc/meminfo, in bytes.
    public static func memoryBytes(meminfo: String?) -> Int? { MemInfo.bytes("MemTotal", in: meminfo) }
}
