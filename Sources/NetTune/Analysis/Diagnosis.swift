import Foundation

/// What held a transfer back, with the figures that say so, and whether tuning
/// buffers or the MTU can help at all.
public struct Diagnosis: Equatable, Sendable {
    public enum Bottleneck: String, Sendable, Codable {
        case linkRate = "link-rate"
        case senderCPU = "sender-cpu"
        case receiverCPU = "receiver-cpu"
        case receiveWindow = "receive-window"
        case sendBuffer = "send-buffer"
        case loss
        case unknown
    }

    public var bottleneck: Bottleneck
    public var evidence: [String]
    public var advice: String
    /// The bandwidth-delay product the evidence states, bytes.
    public var bdpBytes: Int? = nil
    /// The path's rate (a shaper, or a link speed the transfer did not exceed),
    /// bit/s, where one is known; the BDP is from its goodput then, else from the
    /// measured throughput.
    public var pathRate: Double? = nil
    /// Slow start took a large share of the run: the throughput, and a BDP from it,
    /// understate the steady state.
    public var mostlySlowStart = false
}

/// The path a run crossed, as far as the two ends can tell.
struct PathFacts {
    /// Shaper or link rate, bit/s, where known.
    var rate: Double?
    /// What the BDP is computed from: the path's goodput, or the measured throughput.
    var bdpRate: Double
    var bdp: Int
    var minRTT: Double
    var mss: Double

    init(_ run: RunResult, context: DiagnosisContext) {
        let throughput = run.throughputBitsPerSecond
        let info = run.tcpInfo
        mss = Double(info.sndMSS > 0 ? info.sndMSS : 1448)
        minRTT = Double(info.minRTTMicroseconds ?? info.rttMicroseconds) / 1e6
        // The link's rate, where something real sets one: a shaper, or a physical
        // link speed the transfer did not exceed (veth reports 10 Gbit/s).
        rate = [context.shapingRate, context.linkSpeed].compactMap { $0 }.filter { $0 > 0 && throughput <= $0 * 1.1 }.min()
        // Bandwidth-delay product: the bytes in flight the path needs. From the
        // path's rate where it is known: the throughput may already be cut by the
        // very window being judged.
        bdpRate = rate.map { [mss] in $0 * mss / (mss + 66) } ?? throughput
        bdp = Int(minRTT * bdpRate / 8)
    }
}

/// Facts about both ends a diagnosis needs besides the run itself, arranged by
/// role: the sender's egress and send buffer, the receiver's receive buffer.
public struct DiagnosisContext: Equatable, Sendable {
    /// The sender's egress shaping rate (tbf/htb), bit/s.
    public var shapingRate: Double?
    /// The sender's egress link speed, bit/s, where a physical driver reports one.
    public var linkSpeed: Double?
    /// The sender's egress interface, as the evidence names it ("the server's eth0").
    public var interface: String?
    /// The sender's `tcp_wmem` max and the receiver's `tcp_rmem` max.
    public var tcpWmemMax: Int?
    public var tcpRmemMax: Int?
    /// The sender's egress MTU, for the MTU advice.
    public var mtu: Int?
    /// The sender's egress root qdisc and `net.core.default_qdisc` (what an `mq`
    /// root gives each queue): whether `fq` or TCP itself paces a BBR sender.
    public var qdisc: String?
    public var defaultQdisc: String?
    /// Who is who, as the advice names them ("this machine", "the server").
    public var senderName: String
    public var receiverName: String

    public init(
        shapingRate: Double? = nil, linkSpeed: Double? = nil, interface: String? = nil,
        tcpWmemMax: Int? = nil, tcpRmemMax: Int? = nil, mtu: Int? = nil, qdisc: String? = nil, defaultQdisc: String? = nil,
        senderName: String = "the sender", receiverName: String = "the receiver"
    ) {
        self.shapingRate = shapingRate
        self.linkSpeed = linkSpeed
        self.interface = interface
        self.tcpWmemMax = tcpWmemMax
        self.tcpRmemMax = tcpRmemMax
        self.mtu = mtu
        self.qdisc = qdisc
        self.defaultQdisc = defaultQdisc
        self.senderName = senderName
        self.receiverName = receiverName
    }

    /// The roles in one direction of a probe between this machine and a server.
    public init(direction: ProbeDirection, local: TuningState, remote: TuningState?) {
        let sending = direction == .receive ? remote : local
        let receiving = direction == .receive ? local : remote
        self.init(
            shapingRate: sending?.shapingRate.map(Double.init), linkSpeed: sending?.linkSpeed.map(Double.init),
            interface: sending?.interface.map { direction == .receive ? "the server's \($0)" : $0 }, tcpWmemMax: sending?.tcpWmemMax,
            tcpRmemMax: receiving?.tcpRmemMax,
            mtu: sending?.mtu, qdisc: sending?.qdisc, defaultQdisc: sending?.defaultQdisc,
            senderName: direction == .receive ? "the server" : "this machine",
            receiverName: direction == .receive ? "this machine" : "the server")
    }
}

public enum Diagnoser {
    /// Shares of busy time above this mean the window or buffer held TCP back.
    static let limitedShare = 0.2
    /// Throughput within this fraction of the link's goodput ceiling is link-bound.
    static let linkShare = 0.9
    /// A process at this share of one core is the bottleneck.
    static let cpuShare = 0.9
    /// From this share of a busy machine's CPU taken by other programs on, the
    /// diagnosis says the probe competed with them (two busy programs on a two-core
    /// machine: about half, measured).
    static let otherProgramsLimit = 0.3

    public static func diagnose(_ run: RunResult, context: DiagnosisContext) -> Diagnosis {
        // An iperf3 server sends without saying what held it back: no window, no
        // RTT, no send buffer to judge. Nothing is guessed.
        if run.tcpInfoFrom == .unavailable {
            return Diagnosis(
                bottleneck: .unknown,
                evidence: [
                    "the sender is an iperf3 server, which reports bytes, CPU and retransmits (\(run.tcpInfo.totalRetransmits)) but not its TCP_INFO"
                ], advice: "Measure this direction with `nettune serve` at the far end, or measure sending from this machine, to see what limits it.")
        }
        let path = PathFacts(run, context: context)
        var diagnosis = classify(run, context: context, path: path)
        diagnosis.bdpBytes = path.bdp
        diagnosis.pathRate = path.rate
        return diagnosis
    }

    /// Why a buffer is the limit although TCP_INFO charged it less than
    /// `limitedShare` of the time.
    static func belowInitialWindow(mss: Double) -> String {
        "is smaller than TCP's initial window (10 segments, \(ByteCount(Int(10 * mss)))): it bounds every round trip, however little time TCP_INFO counts as limited by it"
    }

    static func classify(_ run: RunResult, context: DiagnosisContext, path: PathFacts) -> Diagnosis {
        let throughput = run.throughputBitsPerSecond
        let info = run.tcpInfo
        let mss = path.mss
        let minRTT = path.minRTT
        let pathRate = path.rate
        let bdpRate = path.bdpRate
        let bdp = path.bdp
        var evidence: [String] = []
        evidence.append(
            "BDP = min RTT \(Self.microseconds(minRTT)) × \(BitRate(bitsPerSecond: bdpRate))\(pathRate == nil ? " (measured)" : " (the path's rate)") = \(ByteCount(bdp))"
        )

        // 1. The link's rate.
        if let rate = pathRate {
            let goodput = rate * mss / (mss + 66)
            let share = throughput / goodput
            let what = context.shapingRate == rate ? "the \(BitRate(bitsPerSecond: rate)) shaper" : "the \(BitRate(bitsPerSecond: rate)) link"
            evidence.append(
                String(
                    format: "throughput is %.0f %% of the %@ goodput %@ on %@ allows", share * 100,
                    BitRate(bitsPerSecond: goodput).description, what, context.interface ?? "the egress interface"))
            if share >= linkShare {
                return Diagnosis(
                    bottleneck: .linkRate, evidence: evidence,
                    advice:
                        "The link's rate is the limit: buffer tuning cannot make this faster (\(bufferVerdict(bdp: bdp, context: context))). \(mtuAdvice(context))"
                )
            }
        }

        // 2. The receiver's window, 3. the send buffer (TCP_INFO's own accounting).
        if let busy = info.busyMicroseconds, busy > 0 {
            let rwnd = Double(info.rwndLimitedMicroseconds ?? 0) / Double(busy)
            let sndbuf = Double(info.sndbufLimitedMicroseconds ?? 0) / Double(busy)
            let busyShare = Double(busy) / (run.seconds * 1e6)
            evidence.append(
                String(
                    format: "limited by the receive window %.0f %% and the send buffer %.0f %% of busy time; busy %.0f %% of the transfer",
                    rwnd * 100, sndbuf * 100, min(busyShare, 1) * 100)
                    + " (\(run.tcpInfoFrom == .local ? "this machine's" : "the server's") TCP_INFO)")
            // A window that fills although the receiver may grow it far past the BDP
            // means the receiving process does not read fast enough, not a small buffer.
            if rwnd >= limitedShare, let rmem = context.tcpRmemMax, rmem >= 4 * max(bdp, 64 << 10) {
                return Diagnosis(
                    bottleneck: .receiverCPU, evidence: evidence + ["tcp_rmem max \(ByteCount(rmem)) on \(context.receiverName), far above the BDP"],
                    advice:
                        "The receiving process (\(context.receiverName)) did not read fast enough: its window filled although tcp_rmem lets it grow to \(ByteCount(rmem)). A faster receiver, or fewer streams, helps; buffers do not."
                )
            }
            // A receiver whose tcp_rmem max cannot hold TCP's initial window of 10
            // segments is window-bound however TCP_INFO splits the time: on a
            // sub-millisecond path the sender flips between rwnd- and cwnd-limited so
            // fast that the rwnd share was 19 % in one run and above 20 % in others
            // (tcp_rmem 4 KiB). A larger buffer below the congestion window is not
            // enough: slow start on a long path overshoots any buffer (cwnd 44 MiB
            // over tcp_rmem 32 MiB, rwnd 8 %, measured at 50 ms).
            let cwndBytes = Double(info.sndCwnd) * mss
            let receiverStarved = context.tcpRmemMax.map { Double($0) < min(cwndBytes, 10 * mss) } ?? false
            if rwnd >= limitedShare || (receiverStarved && rwnd > 0) {
                let current = context.tcpRmemMax.map { " (its tcp_rmem max is \(ByteCount($0)))" } ?? ""
                if rwnd < limitedShare, let rmem = context.tcpRmemMax {
                    evidence.append("tcp_rmem max \(ByteCount(rmem)) on \(context.receiverName) \(Self.belowInitialWindow(mss: mss))")
                }
                return Diagnosis(
                    bottleneck: .receiveWindow, evidence: evidence,
                    advice:
                        "The receiver's window held the sender back: raise tcp_rmem's max on \(context.receiverName)\(current)"
                        + windowGain(bdp: bdp, pathKnown: pathRate != nil, buffer: context.tcpRmemMax) + ".")
            }
            // A socket buffer that cannot hold the initial window is send-buffer
            // bound even when tcpi_sndbuf_limited stays 0 (seen on this kernel with
            // tcp_wmem 4096 4096 4096); slow start overshoots larger ones, as above.
            let window = cwndBytes
            let starved = run.sendBufferBytes > 0 && Double(run.sendBufferBytes) < min(window, 10 * mss)
            if sndbuf >= limitedShare || starved {
                evidence.append("SO_SNDBUF \(ByteCount(run.sendBufferBytes)) against cwnd × MSS = \(ByteCount(Int(window)))")
                if sndbuf < limitedShare {
                    evidence.append("SO_SNDBUF \(ByteCount(run.sendBufferBytes)) \(Self.belowInitialWindow(mss: mss))")
                }
                let current = context.tcpWmemMax.map { " (its tcp_wmem max is \(ByteCount($0)))" } ?? ""
                return Diagnosis(
                    bottleneck: .sendBuffer, evidence: evidence,
                    advice:
                        "The send buffer held the sender back: raise tcp_wmem (its default and max) on \(context.senderName)\(current)"
                        + windowGain(bdp: bdp, pathKnown: pathRate != nil, buffer: context.tcpWmemMax) + ".")
            }
        }

        // 4. CPU on either end.
        let senderCore = run.seconds > 0 ? run.sender.processSeconds / run.seconds : 0
        let receiverCore = run.seconds > 0 ? run.receiver.processSeconds / run.seconds : 0
        evidence.append(String(format: "sender process %.0f %% of a core, receiver %.0f %%", senderCore * 100, receiverCore * 100))
        // A machine busy on all its CPUs is short of CPU although no one process
        // fills a core: several streams' threads, and the kernel work they cause,
        // share them (four streams on a two-core machine: 87 % of a core, host 100 %).
        let senderMachine = run.sender.hostShares?.busy ?? 0
        let receiverMachine = run.receiver.hostShares?.busy ?? 0
        let aProcessIsFull = senderCore >= cpuShare || receiverCore >= cpuShare
        if aProcessIsFull || senderMachine >= cpuShare || receiverMachine >= cpuShare {
            // Both ends on one machine (a veth, loopback) are both "busy": the
            // process that used more of it is the limit, as with full cores.
            let sender =
                aProcessIsFull || (senderMachine >= cpuShare) == (receiverMachine >= cpuShare)
                ? senderCore >= receiverCore : senderMachine >= cpuShare
            let name = sender ? context.senderName : context.receiverName
            var others: Int?
            if !aProcessIsFull {
                let busy = Int((min(sender ? senderMachine : receiverMachine, 1) * 100).rounded())
                evidence.append("all of \(name)'s CPUs busy \(busy) % of the time")
                if let share = otherProgramsShare(of: sender ? run.sender : run.receiver, run: run), share >= otherProgramsLimit {
                    let percent = Int((share * 100).rounded())
                    evidence.append("other programs on \(name) used about \(percent) % of its CPUs during the run")
                    others = percent
                }
            }
            var advice = cpuAdvice(sender: sender, method: run.method, context: context)
            if let others {
                // The machine was short of CPU because something else had it: what
                // would help the transfer on a quiet machine is not yet known.
                advice =
                    "\(name.prefix(1).uppercased() + name.dropFirst()) was short of CPU, but other programs had about \(others) % of it: "
                    + "the probe measured a share of a busy machine. Measure again when it is quiet before changing anything for this. "
                    + advice
            }
            if sender, let qdisc = pacingQdisc(congestion: run.congestion, context: context) {
                let on = context.interface.map { " on \($0)" } ?? ""
                evidence.append(
                    "congestion control bbr with no fq qdisc\(on) (\(qdisc)): TCP paces each socket itself, with a timer whenever a burst has to wait"
                )
                let fq =
                    context.qdisc == "mq"
                    ? "fq on the queues of the mq\(on) (net.core.default_qdisc = fq, for an mq created after it)"
                    : "fq as the root qdisc\(on)"
                advice +=
                    " BBR's pacing costs a sender short of CPU a timer per held-back burst here; "
                    + "\(fq) paces in the qdisc instead, and a probe with --congestion cubic shows what the pacing costs."
            }
            return Diagnosis(
                bottleneck: sender ? .senderCPU : .receiverCPU, evidence: evidence,
                advice: advice + " Buffers come second (\(bufferVerdict(bdp: bdp, context: context))).")
        }

        // 5. Loss.
        let retransmitShare = run.bytes > 0 ? Double(info.totalRetransmits) * mss / Double(run.bytes) : 0
        if retransmitShare > 0.05 || (retransmitShare > 0.001 && minRTT > 0.005) {
            evidence.append(String(format: "%d retransmitted segments, %.2f %% of the data", Int(info.totalRetransmits), retransmitShare * 100))
            return Diagnosis(
                bottleneck: .loss, evidence: evidence,
                advice:
                    "Segments were lost and retransmitted: look for drops (a shaper's queue, a bad cable, Wi-Fi) before tuning buffers; larger buffers do not make a lossy path faster."
            )
        }
        // 6. A run too short for slow start: each round trip doubles the window
        // from 10 segments, so reaching the BDP takes log2(BDP / 10 MSS) of them.
        // With the path's rate unknown the BDP is the measured one, so this is the
        // least slow start needed: a long path's short run is still caught.
        if minRTT > 0, bdp > 0 {
            let roundTrips = run.seconds / minRTT
            let rampUp = log2(max(Double(bdp) / (10 * mss), 1)).rounded(.up)
            if roundTrips < 10 * rampUp {
                evidence.append(String(format: "the run lasted %.0f round trips; slow start needs about %.0f to reach the BDP", roundTrips, rampUp))
                // Unknown path: the BDP came from a throughput slow start cut, a floor
                // that shows buffers too small when it exceeds them and nothing else.
                let gap = pathRate == nil ? "part of what it measured is slow start" : "part of the gap to the link's rate is slow start"
                let floorOnly = pathRate == nil && context.tcpWmemMax.map { bdp <= $0 } ?? true
                let buffers =
                    floorOnly
                    ? "The BDP of \(ByteCount(bdp)) from this run's throughput is only a floor"
                    : bufferVerdict(bdp: bdp, context: context).capitalizedFirst
                return Diagnosis(
                    bottleneck: .unknown, evidence: evidence,
                    advice:
                        "No limit held this run back for long; \(gap), a large share of so short a run on this path. A longer run (--time 10s) measures the steady state. \(buffers).",
                    mostlySlowStart: true)
            }
        }
        return Diagnosis(
            bottleneck: .unknown, evidence: evidence,
            advice:
                "No single limit stands out. \(bufferVerdict(bdp: bdp, context: context).capitalizedFirst).")
    }

    /// What a larger window can give, when the window is the limit.
    static func windowGain(bdp: Int, pathKnown: Bool, buffer: Int?) -> String {
        guard pathKnown else {
            return "; the path's rate is not known here, so how much it gains shows only by measuring (apply --probe)"
        }
        // The receive side gives half its buffer to the window (tcp_adv_win_scale 1).
        let needed = bdp * 2
        if let buffer, buffer >= needed {
            return "; the BDP of \(ByteCount(bdp)) fits, so look for the setting that caps it (SO_RCVBUF/SO_SNDBUF set by the application?)"
        }
        return "; the path's BDP is \(ByteCount(bdp)), so a max of at least \(ByteCount(needed)) lets one stream fill it"
    }

    /// The share of a machine's CPU time, from `usage`'s host figures, that neither
    /// the probe's processes nor softirq work took: other programs'. Both ends'
    /// processes are taken off (they may share the machine, as on a veth) and
    /// softirq work too (a process's own counts in both), so it is a lower bound.
    static func otherProgramsShare(of usage: CPUUsage, run: RunResult) -> Double? {
        guard let busy = usage.hostBusySeconds, let softirq = usage.hostSoftirqSeconds, let total = usage.hostTotalSeconds, total > 0 else {
            return nil
        }
        let others = busy - softirq - run.sender.processSeconds - run.receiver.processSeconds
        return max(others, 0) / total
    }

    /// What cuts the CPU cost of the end that is the limit. The method matters only
    /// to the sender: sendfile and splice already keep the bytes in the kernel, so
    /// what is left there is per-packet work, which only fewer, larger packets cut.
    static func cpuAdvice(sender: Bool, method: ProbeMethod, context: DiagnosisContext) -> String {
        let end = sender ? "sender" : "receiver"
        let name = sender ? context.senderName : context.receiverName
        // Nothing to gain from the MTU once it is at the jumbo size.
        let mtu: String? =
            switch context.mtu {
            case nil: "a larger MTU"
            case let current? where current < 9000: "a larger MTU (from \(current))"
            default: nil
            }
        let interface = context.interface.map { " on \($0)" } ?? ""
        let limit = "The \(end)'s CPU (\(name)) is the limit"
        if sender, method == .readwrite {
            return "\(limit): the read/write loop copies every byte through user space; "
                + "sendfile (--method sendfile) keeps them in the kernel and costs less per GiB."
        }
        let fewerPackets = [mtu, sender ? "segmentation offload (TSO/GSO\(interface))" : "receive offload (GRO) on its interface"]
            .compactMap { $0 }.joined(separator: " or ")
        if sender {
            return "\(limit): \(method.rawValue) already keeps the bytes in the kernel; "
                + "what is left is per-packet work, which \(fewerPackets) cuts."
        }
        return "\(limit): receiving is per-packet work, which \(fewerPackets) cuts; "
            + "an application that copies what it receives costs more than one that discards it."
    }

    /// Qdiscs that neither pace nor hold another qdisc: behind them a BBR socket
    /// paces itself (TCP's internal pacing). Others — `fq`, or a classful root
    /// whose children are not known here (`htb`, `tbf`, `prio`) — are left unjudged.
    static let nonPacingQdiscs: Set<String> = ["noqueue", "pfifo_fast", "pfifo", "bfifo", "fq_codel", "fq_pie", "cake", "sfq", "codel", "pie"]

    /// The qdisc a BBR sender's packets leave through, when it is one that leaves the
    /// pacing to TCP; nil when the sender is not BBR, or fq (or something unknown) is there.
    static func pacingQdisc(congestion: String?, context: DiagnosisContext) -> String? {
        guard congestion == "bbr", let root = context.qdisc else { return nil }
        // A multi-queue root gives each transmit queue the default qdisc.
        let effective = root == "mq" ? context.defaultQdisc.map { "mq of \($0)" } : root
        let kind = root == "mq" ? context.defaultQdisc : root
        guard let kind, let effective, nonPacingQdiscs.contains(kind) else { return nil }
        return effective
    }

    static func bufferVerdict(bdp: Int, context: DiagnosisContext) -> String {
        let owner = "\(context.senderName)'s tcp_wmem max"
        guard let wmem = context.tcpWmemMax else { return "compare the BDP with \(owner)" }
        if bdp * 4 <= wmem {
            return "the BDP of \(ByteCount(bdp)) is far below \(owner) of \(ByteCount(wmem)), so raising buffers cannot help"
        }
        if bdp > wmem {
            return "the BDP of \(ByteCount(bdp)) exceeds \(owner) of \(ByteCount(wmem)), so larger buffers can help"
        }
        return "the BDP of \(ByteCount(bdp)) is close to \(owner) of \(ByteCount(wmem)); larger buffers may help a little"
    }

    /// What jumbo frames could add, from the MTU in use (Ethernet framing 38 bytes,
    /// TCP/IP headers with timestamps 52).
    static func mtuAdvice(_ context: DiagnosisContext) -> String {
        let current = context.mtu ?? 1500
        guard current < 9000 else { return "The MTU is already \(current): nothing to gain there." }
        let efficiency = { (mtu: Double) in (mtu - 52) / (mtu + 38) }
        let gain = (efficiency(9000) / efficiency(Double(current)) - 1) * 100
        return String(format: "MTU 9000 (from %d) would add at most %.0f %% of goodput, and only where every hop carries it.", current, gain)
    }

    static func microseconds(_ seconds: Double) -> String {
        seconds >= 1e-3 ? String(format: "%.1f ms", seconds * 1e3) : "\(Int((seconds * 1e6).rounded())) µs"
    }
}

extension String {
    var capitalizedFirst: String { prefix(1).uppercased() + dropFirst() }
}
