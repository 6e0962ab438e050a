import Foundation
import NetTune

/// `try`'s lines about the peer check.
enum TryOutput {
    static func peerLine(_ report: PeerCheckReport, peer: Endpoint?) -> String {
        var line =
            "peer \(peer?.description ?? "?") answered: \(ByteCount(Int(clamping: report.bytes))) probed in "
            + "\(Int((report.seconds * 1000).rounded())) ms (path MTU \(report.pmtu))"
        if let dontFragment = report.dontFragment {
            line += "; \(dontFragment.size)-byte don't-fragment packets get through (\(String(format: "%.1f", dontFragment.seconds * 1000)) ms)"
        }
        return line
    }
}
