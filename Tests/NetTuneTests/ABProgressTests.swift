import Testing

@testable import NetTune
@testable import NetTuneCommands

/// The A/B progress line: an estimate from the runs so far and B/A so far.
@Suite struct ABProgressTests {
    @Test func theEstimateAndTheRatioFollowTheRuns() {
        var status = ABProgress(pairs: 5, profile: "pi-lan")
        status.planned(directions: [.send])
        let start = ContinuousClock.now
        status.starting(at: start)
        // Before any run ends: no estimate, no ratio.
        #expect(status.line(pair: 1, side: .a, direction: .send, at: start) == "pair 1/5: A (current), sending …")
        status.measured(pair: 1, side: .a, direction: .send, throughput: 100e6)
        status.measured(pair: 1, side: .b, direction: .send, throughput: 200e6)
        status.measured(pair: 2, side: .a, direction: .send, throughput: 100e6)
        // Three runs in 30 s: 7 more take 70 s.
        let line = status.line(pair: 2, side: .b, direction: .send, at: start + .seconds(30))
        #expect(line == "pair 2/5: B (pi-lan), sending … ~1 min 10 s left, B/A so far 2.00×")
    }

    @Test func theRatioIsTheGeometricMeanOfFinishedPairsOfTheFirstDirection() {
        var status = ABProgress(pairs: 3, profile: "x")
        status.planned(directions: [.receive, .send])
        #expect(status.totalRuns == 12)
        status.measured(pair: 1, side: .a, direction: .receive, throughput: 100)
        status.measured(pair: 1, side: .a, direction: .send, throughput: 1)
        status.measured(pair: 1, side: .b, direction: .receive, throughput: 400)
        status.measured(pair: 1, side: .b, direction: .send, throughput: 1000)
        status.measured(pair: 2, side: .a, direction: .receive, throughput: 100)
        status.measured(pair: 2, side: .b, direction: .receive, throughput: 100)
        #expect(status.runningRatio.map { abs($0 - 2) < 1e-9 } == true)
        // A failed measurement (0) is left out, not counted as a ratio of zero.
        status.measured(pair: 3, side: .a, direction: .receive, throughput: 0)
        status.measured(pair: 3, side: .b, direction: .receive, throughput: 100)
        #expect(status.runningRatio.map { abs($0 - 2) < 1e-9 } == true)
    }
}
