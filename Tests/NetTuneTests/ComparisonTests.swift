import Foundation
import Testing

@testable import NetTune

/// A small seeded generator so the trials below are the same on every run.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A normal deviate (Box–Muller).
    mutating func normal() -> Double {
        let u1 = Double.random(in: Double.ulpOfOne..<1, using: &self)
        let u2 = Double.random(in: 0..<1, using: &self)
        return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }
}

@Suite struct ComparisonTests {
    func samples(_ n: Int, mean: Double, noise: Double, _ rng: inout SplitMix64) -> [Double] {
        (0..<n).map { _ in mean * (1 + noise * rng.normal()) }
    }

    @Test func knownAnswer() throws {
        // Every pair exactly 10 % faster: ratio 1.1 with a zero-width interval.
        let c = try #require(Comparison(a: [100, 200, 300], b: [110, 220, 330]))
        #expect(abs(c.ratio - 1.1) < 1e-12)
        #expect(abs(c.lower - 1.1) < 1e-12 && abs(c.upper - 1.1) < 1e-12)
        #expect(c.verdict() == .better)
        #expect(c.verdict(higherIsBetter: false) == .worse)
    }

    /// The interval is computed on ratios, not differences: scaling both sides by
    /// any factor gives the same answer, and 2× and ½× are mirror images.
    @Test func worksOnRatiosNotDifferences() throws {
        let a = [10.0, 11, 9.5, 10.4], b = [20.0, 21.5, 19.6, 20.1]
        let c1 = try #require(Comparison(a: a, b: b))
        let c2 = try #require(Comparison(a: a.map { $0 * 1000 }, b: b.map { $0 * 1000 }))
        #expect(abs(c1.ratio - c2.ratio) < 1e-12 && abs(c1.lower - c2.lower) < 1e-12)
        let inverse = try #require(Comparison(a: b, b: a))
        #expect(abs(inverse.ratio - 1 / c1.ratio) < 1e-12)
        #expect(abs(inverse.lower - 1 / c1.upper) < 1e-12)
    }

    @Test func identicalDistributionsGiveNoDifferenceInAtLeast95PercentOfTrials() {
        var rng = SplitMix64(state: 20_261_125)
        let trials = 2000
        var noDifference = 0
        for _ in 0..<trials {
            let a = samples(5, mean: 1e9, noise: 0.05, &rng)
            let b = samples(5, mean: 1e9, noise: 0.05, &rng)
            if Comparison(a: a, b: b)?.verdict() == .noDifference { noDifference += 1 }
        }
        #expect(Double(noDifference) / Double(trials) >= 0.95, "\(noDifference) of \(trials)")
    }

    /// 5 % noise on every run, A and B alike: each pair's log ratio then has a
    /// spread of about 0.05·√2, and with 8 pairs the t-test's power to see a 10 %
    /// shift is about 93 % (mean log ratio 0.095, half-width 2.365 · 0.0707/√8 = 0.059).
    @Test func aTenPercentShiftWithFivePercentNoisePerRunIsUsuallyBetterWithEightPairs() {
        var rng = SplitMix64(state: 42)
        let trials = 1000
        var better = 0, worse = 0
        for _ in 0..<trials {
            let a = samples(8, mean: 1e9, noise: 0.05, &rng)
            let b = samples(8, mean: 1.1e9, noise: 0.05, &rng)
            switch Comparison(a: a, b: b)?.verdict() {
            case .better: better += 1
            case .worse: worse += 1
            default: break
            }
        }
        #expect(Double(better) / Double(trials) >= 0.88, "\(better) of \(trials)")
        #expect(worse == 0)
    }

    /// 5 % noise on the pair's ratio (runs drift together, as interleaving intends):
    /// 8 pairs see a 10 % shift in about 98–99 % of trials (noncentral t, δ ≈ 5.4, 7 df).
    @Test func aTenPercentShiftWithFivePercentNoisePerPairIsBetterWithEightPairs() {
        var rng = SplitMix64(state: 7)
        let trials = 1000
        var better = 0
        for _ in 0..<trials {
            let a = samples(8, mean: 1e9, noise: 0.10, &rng)
            let b = a.map { $0 * 1.1 * (1 + 0.05 * rng.normal()) }
            if Comparison(a: a, b: b)?.verdict() == .better { better += 1 }
        }
        #expect(Double(better) / Double(trials) >= 0.97, "\(better) of \(trials)")
    }

    /// A shaped link is steady enough to make 0.2 % "significant"; that is below
    /// the smallest effect worth a verdict.
    @Test func aTinyButCertainDifferenceIsNoDifference() throws {
        let a = [95.60, 95.61, 95.59, 95.60], b = [95.80, 95.81, 95.79, 95.81]
        let c = try #require(Comparison(a: a, b: b))
        #expect(c.lower > 1)
        #expect(c.verdict() == .noDifference)
        let big = try #require(Comparison(a: a, b: b.map { $0 * 1.05 }))
        #expect(big.verdict() == .better)
    }

    @Test func needsTwoUsablePairs() {
        #expect(Comparison(a: [1], b: [2]) == nil)
        #expect(Comparison(a: [1, 0], b: [2, 3]) == nil)
        #expect(Comparison(a: [1, 2, 3], b: [1, 2]) != nil)
    }

    @Test func tQuantiles() {
        #expect(Comparison.tQuantile975(degreesOfFreedom: 1) == 12.706)
        #expect(Comparison.tQuantile975(degreesOfFreedom: 4) == 2.776)
        #expect(Comparison.tQuantile975(degreesOfFreedom: 1000) == 1.960)
    }
}
