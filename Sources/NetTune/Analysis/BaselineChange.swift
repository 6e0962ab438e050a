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
