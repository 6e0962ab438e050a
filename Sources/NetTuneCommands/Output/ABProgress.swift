import Foundation
import NetTune

/// The A/B test's progress line: which run, how long is left (from the runs so
/// far), and B's throughput over A's so far (geometric mean over finished pairs
/// of the first direction measured).
struct ABProgress {
    let pairs: Int
    let profile: String
    private(set) var directions = 1
    private var started: ContinuousClock.Instant?
    private var runsDone = 0
    private var a: [Int: Double] = [:]
    private var b: [Int: Double] = [:]
    private var first: ProbeDirection?
    /// What is under way: "warm-up", or the run that started last.
    private(set) var current = "warm-up"

    init(pairs: Int, profile: String) {
        self.pairs = pairs
        self.profile = profile
    }

    var totalRuns: Int { pairs * 2 * directions }

    mutating func planned(directions: [ProbeDirection]) {
        self.directions = max(1, directions.count)
        first = directions.first
    }

    mutating func measured(pair: Int, side: ABTest<ProcSysStore, NetlinkLinkController>.Side, direction: ProbeDirection, throughput: Double) {
        runsDone += 1
        guard direction == (first ?? direction), throughput > 0 else { return }
        if side == .a { a[pair] = throughput } else { b[pair] = throughput }
    }

    /// The time left, from the mean time of the runs so far; nil before the first ends.
    func remaining(at now: ContinuousClock.Instant) -> Duration? {
        guard let started, runsDone > 0 else { return nil }
        return (now - started) / runsDone * max(0, totalRuns - runsDone)
    }

    /// B over A so far, nil before the first pair has both.
    var runningRatio: Double? {
        let ratios = a.keys.compactMap { pair in b[pair].map { $0 / a[pair, default: 1] } }
        guard !ratios.isEmpty else { return nil }
        return Statistics.mean(ratios.map { Foundation.log($0) }).map { Foundation.exp($0) }
    }

    /// The run that is starting, as the line under way says: "pair 2/5: B (pi-lan), sending".
    mutating func starting(
        pair: Int, side: ABTest<ProcSysStore, NetlinkLinkController>.Side, direction: ProbeDirection, at now: ContinuousClock.Instant
    ) {
        if started == nil { started = now }
        current = "pair \(pair)/\(pairs): \(side == .a ? "A (current)" : "B (\(profile))"), \(ProbeTable.describe(direction))"
    }

    func line(at now: ContinuousClock.Instant) -> String {
        var text = current + " …"
        if let left = remaining(at: now) { text += " ~\(TimeSpan.format(left)) left" }
        if let ratio = runningRatio { text += String(format: ", B/A so far %.2f×", ratio) }
        return text
    }

    /// The current run waits at the server (its queue, its payload being read).
    func waitingLine(_ progress: ProbeProgress) -> String? {
        ProbeTable.waitingText(progress).map { "\(current): \($0)" }
    }
}
