/// Did B differ from A? Paired runs, compared on the ratio B/A.
///
/// Method: a t-interval on log ratios. Each pair (A_i, B_i) ran back to back, so
/// drift of the machine affects both; the pair's log(B_i / A_i) removes it. The mean
/// of the logs ± t(0.975, n−1) · s/√n, exponentiated, is a 95 % confidence interval
/// for the geometric-mean ratio. Logs make the interval symmetric for "twice as
/// fast" and "half as fast" and keep it positive.
public struct Comparison: Equatable, Sendable {
    public enum Verdict: String, Sendable, Codable {
        case better, worse
        case noDifference = "no-difference"
    }

    public var pairs: Int
    /// Geometric mean of B_i / A_i: the interval's centre.
    public var ratio: Double
    public var lower: Double
    public var upper: Double

    /// A pair-wise comparison; nil with fewer than two usable pairs.
    public init?(a: [Double], b: [Double]) {
        let logs = zip(a, b).compactMap { a, b -> Double? in
            guard a > 0, b > 0, a.isFinite, b.isFinite else { return nil }
            return log(b / a)
        }
        guard logs.count >= 2, let mean = Statistics.mean(logs), let sd = Statistics.standardDeviation(logs) else { return nil }
        let half = Self.tQuantile975(degreesOfFreedom: logs.count - 1) * sd / Double(logs.count).squareRoot()
        pairs = logs.count
        ratio = exp(mean)
        lower = exp(mean - half)
        upper = exp(mean + half)
    }

    /// Two independent groups (a probe now against a baseline from another day):
    /// Welch's t-interval on the difference of mean logs. Nil with fewer than two
    /// samples on either side.
    public init?(unpairedA a: [Double], b: [Double]) {
        let la = a.filter { $0 > 0 && $0.isFinite }.map { log($0) }
        let lb = b.filter { $0 > 0 && $0.isFinite }.map { log($0) }
        guard la.count >= 2, lb.count >= 2, let ma = Statistics.mean(la), let mb = Statistics.mean(lb),
            let sa = Statistics.standardDeviation(la), let sb = Statistics.standardDeviation(lb)
        else { return nil }
        let va = sa * sa / Double(la.count), vb = sb * sb / Double(lb.count)
        let se = (va + vb).squareRoot()
        // Welch–Satterthwaite degrees of freedom.
        let df = se > 0 ? (va + vb) * (va + vb) / (va * va / Double(la.count - 1) + vb * vb / Double(lb.count - 1)) : 1e9
        let half = Self.tQuantile975(degreesOfFreedom: max(1, Int(df.rounded(.down)))) * se
        pairs = min(la.count, lb.count)
        ratio = exp(mb - ma)
        lower = exp(mb - ma - half)
        upper = exp(mb - ma + half)
    }

    /// The smallest change worth a verdict. Under a shaper throughput is so steady
    /// (< 0.5 % noise) that a 0.2 % difference can be statistically certain; it is
    /// still no difference anyone would tune for.
    public static let minimumEffect = 0.01

    /// The verdict when a higher value is better (throughput); for costs (CPU per
    /// GiB) pass `higherIsBetter: false`. *better*/*worse* need the whole interval
    /// on one side of 1 and the ratio itself at least `minimumEffect` away from 1.
    public func verdict(higherIsBetter: Bool = true) -> Verdict {
        if lower > 1 && ratio >= 1 + Self.minimumEffect { return higherIsBetter ? .better : .worse }
        if upper < 1 && ratio <= 1 - Self.minimumEffect { return higherIsBetter ? .worse : .better }
        return .noDifference
    }

    /// Student's t, two-sided 95 %, by degrees of freedom (exact to three decimals).
    static func tQuantile975(degreesOfFreedom df: Int) -> Double {
        let table: [Double] = [
            12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
            2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
            2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042
        ]
        if df >= 1 && df <= table.count { return table[df - 1] }
        if df <= 40 { return 2.021 }
        if df <= 60 { return 2.000 }
        if df <= 120 { return 1.980 }
        return 1.960
    }
}

#if canImport(Glibc)
    import Glibc
#endif
