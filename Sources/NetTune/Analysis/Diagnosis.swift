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
}

/// Facts about the sending machine a diagnosis needs besides the run itself.
public struct DiagnosisContext: Equatable, Sendable {
    /// The egress interface's shaping rate (tbf/htb), bit/s.
    public var shapingRate: Double?
    /// The egress interface's link speed, bit/s, where the driver reports one.
    public var linkSpeed: Double?
    public var interface: String?
    /// This machine's `tcp_wmem` / `tcp_rmem` maxima.
    public var tcpWmemMax: Int?
    public var tcpRmemMax: Int?

    public init(shapingRate: Double? = nil, linkSpeed: Double? = nil, interface: String? = nil,
                tcpWmemMax: Int? = nil, tcpRmemMax: Int? = nil) {
        self.shapingRate = shapingRate
        self.linkSpeed = linkSpeed
        self.interface = interface
        self.tcpWmemMax = tcpWmemMax
        self.tcpRmemMax = tcpRmemMax
    }
}

public enum Diagnoser {
    /// Shares of busy time above this mean the window or buffer held TCP back.
    static let limitedShare = 0.2
    /// Throughput within this fraction of the link's goodput ceiling is link-bound.
    static let linkShare = 0.9
    /// A process at this share of one core is the bottleneck.
    static let cpuShare = 0.9

    public static func diagnose(_ run: RunResult, context: DiagnosisContext) -> Diagnosis {
        let throughput = run.throughputBitsPerSecond
        let info = run.tcpInfo
        let mss = Double(info.sndMSS > 0 ? info.sndMSS : 1448)
        var evidence: [String] = []

        // Bandwidth-delay product from the minimum RTT: the bytes in flight needed.
        let minRTT = Double(info.minRTTMicroseconds ?? info.rttMicroseconds) / 1e6
        let bdp = Int(minRTT * throughput / 8)
        let bdpText = "BDP = min RTT \(Self.microseconds(minRTT)) × \(BitRate(bitsPerSecond: throughput)) = \(ByteCount(bdp))"
        evidence.append(bdpText)
        let bufferVerdict = Self.bufferVerdict(bdp: bdp, context: context)

        // 1. The link's rate.
        // A reported speed the transfer exceeded is not a real limit (veth reports 10 Gbit/s).
        let ceilings = [context.shapingRate, context.linkSpeed].compactMap { $0 }.filter { $0 > 0 && throughput <= $0 * 1.1 }
        if let rate = ceilings.min() {
            let goodput = rate * mss / (mss + 66)
            let share = throughput / goodput
            let what = context.shapingRate == rate ? "the \(BitRate(bitsPerSecond: rate)) shaper" : "the \(BitRate(bitsPerSecond: rate)) link"
            evidence.append(String(format: "throughput is %.0f %% of the %@ goodput %@ on %@ allows", share * 100,
                                   BitRate(bitsPerSecond: goodput).description, what, context.interface ?? "the egress interface"))
            if share >= linkShare {
                return Diagnosis(bottleneck: .linkRate, evidence: evidence, advice:
                    "The link's rate is the limit: buffer tuning cannot make this faster (\(bufferVerdict)), and MTU 9000 would add at most 4 % of goodput.")
            }
        }

        // 2. The receiver's window, 3. our send buffer (TCP_INFO's own accounting).
        if let busy = info.busyMicroseconds, busy > 0 {
            let rwnd = Double(info.rwndLimitedMicroseconds ?? 0) / Double(busy)
            let sndbuf = Double(info.sndbufLimitedMicroseconds ?? 0) / Double(busy)
            let busyShare = Double(busy) / (run.seconds * 1e6)
            evidence.append(String(format: "limited by the receive window %.0f %% and the send buffer %.0f %% of busy time; busy %.0f %% of the transfer", rwnd * 100, sndbuf * 100, min(busyShare, 1) * 100))
            if rwnd >= limitedShare {
                return Diagnosis(bottleneck: .receiveWindow, evidence: evidence, advice:
                    "The receiver's window held the sender back: raise tcp_rmem's max on the receiver (then restart its server, whose listener keeps the old buffer). \(bufferVerdict.capitalizedFirst).")
            }
            // A socket buffer that cannot hold one congestion window of data is
            // send-buffer bound even when tcpi_sndbuf_limited stays 0 (seen on this
            // kernel with tcp_wmem 4096 4096 4096).
            let window = Double(info.sndCwnd) * mss
            let starved = run.sendBufferBytes > 0 && Double(run.sendBufferBytes) < window
            if sndbuf >= limitedShare || starved {
                evidence.append("SO_SNDBUF \(ByteCount(run.sendBufferBytes)) against cwnd × MSS = \(ByteCount(Int(window)))")
                return Diagnosis(bottleneck: .sendBuffer, evidence: evidence, advice:
                    "The send buffer held the sender back: raise tcp_wmem (its default and max) on the sender\(context.tcpWmemMax.map { "; its max is now \(ByteCount($0))" } ?? "").")
            }
        }

        // 4. CPU on either end.
        let senderCore = run.seconds > 0 ? run.sender.processSeconds / run.seconds : 0
        let receiverCore = run.seconds > 0 ? run.receiver.processSeconds / run.seconds : 0
        evidence.append(String(format: "sender process %.0f %% of a core, receiver %.0f %%", senderCore * 100, receiverCore * 100))
        if senderCore >= cpuShare || receiverCore >= cpuShare {
            let sender = senderCore >= receiverCore
            return Diagnosis(bottleneck: sender ? .senderCPU : .receiverCPU, evidence: evidence, advice:
                "The \(sender ? "sender" : "receiver")'s CPU is the limit: a cheaper method (sendfile instead of a small-buffer read/write loop) or a larger MTU helps more than buffers (\(bufferVerdict)).")
        }

        // 5. Loss.
        let retransmitShare = run.bytes > 0 ? Double(info.totalRetransmits) * mss / Double(run.bytes) : 0
        if retransmitShare > 0.05 {
            evidence.append(String(format: "%d retransmitted segments, %.1f %% of the data", Int(info.totalRetransmits), retransmitShare * 100))
            return Diagnosis(bottleneck: .loss, evidence: evidence, advice:
                "Many segments were retransmitted: look for drops (a shaper's queue, a bad cable, Wi-Fi) before tuning buffers.")
        }
        return Diagnosis(bottleneck: .unknown, evidence: evidence, advice:
            "No single limit stands out. \(bufferVerdict.capitalizedFirst).")
    }

    static func bufferVerdict(bdp: Int, context: DiagnosisContext) -> String {
        guard let wmem = context.tcpWmemMax else { return "compare the BDP with tcp_wmem's max" }
        if bdp * 4 <= wmem {
            return "the BDP of \(ByteCount(bdp)) is far below tcp_wmem's max of \(ByteCount(wmem)), so raising buffers cannot help"
        }
        if bdp > wmem {
            return "the BDP of \(ByteCount(bdp)) exceeds tcp_wmem's max of \(ByteCount(wmem)), so larger buffers can help"
        }
        return "the BDP of \(ByteCount(bdp)) is close to tcp_wmem's max of \(ByteCount(wmem)); larger buffers may help a little"
    }

    static func microseconds(_ seconds: Double) -> String {
        seconds >= 1e-3 ? String(format: "%.1f ms", seconds * 1e3) : "\(Int((seconds * 1e6).rounded())) µs"
    }
}

extension String {
    var capitalizedFirst: String { prefix(1).uppercased() + dropFirst() }
}

import Foundation
