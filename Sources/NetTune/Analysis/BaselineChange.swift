/// A probe's change against its baseline: the latest result for the same peer and
/// method under different tuning.
public struct BaselineChange: Equatable, Sendable {
    public var baseline: HistoryEntry
    /// Now / then, with Welch's interval when both sides have two runs or more.
    public var throughputRatio: Double
    public var interval: Comparison?

    public init?(current: HistoryEntry, baseline: HistoryEntry) {
        guard let now = Statistics.median(current.throughputs), let then = Statistics.median(baseline.throughputs), then > 0 else { return nil }
        self.baseline = baseline
        interval = Comparison(unpairedA: baseline.throughputs, b: current.throughputs)
        throughputRatio = interval?.ratio ?? now / then
    }

    public var verdict: Comparison.Verdict { interval?.verdict() ?? .noDifference }
}

/// Builds the fingerprint of the tuning in force now.
public enum FingerprintReader {
    public static func current(report: ProbeReport, store: some SysctlStore, snapshots: SnapshotStore?) -> TuningFingerprint {
        var sysctls: [String: String] = [:]
        for key in SysctlKey.shown {
            if let value = (try? store.read(key)) ?? nil { sysctls[key.name] = value }
        }
        var profiles: [String] = []
        if let snapshots, let inode = NetworkNamespace.currentInode(), let snapshot = (try? snapshots.load(inode: inode)) ?? nil {
            profiles = snapshot.profiles
        }
        return TuningFingerprint(sysctls: sysctls, interface: report.egressInterface, mtu: report.mtu,
                                 kernel: report.kernel, peer: report.peer.description, profiles: profiles)
    }
}
