import Testing

@testable import NetTune
@testable import NetTuneCommands

/// The A/B progress line: an estimate from the runs so far and B/A so far.
@Suite struct ABProgressTests {
    @Test func theEstimateAndTheRatioFollowTheRuns() {
        var status = ABProgress(pairs: 5, profile: "pi-lan")
        status.planned(directions: [.send])
        let start = ContinuousClock.now
        status.starting(pair: 1, side: .a, direction: .send, at: start)
        // Before any run ends: no estimate, no ratio.
        #expect(status.line(at: start) == "pair 1/5: A (current), sending …")
        status.measured(pair: 1, side: .a, direction: .send, throughput: 100e6)
        status.measured(pair: 1, side: .b, direction: .send, throughput: 200e6)
        status.measured(pair: 2, side: .a, direction: .send, throughput: 100e6)
        // Three runs in 30 s: 7 more take 70 s.
        status.starting(pair: 2, side: .b, direction: .send, at: start + .seconds(30))
        let line = status.line(at: start + .seconds(30))
        #expect(line == "pair 2/5: B (pi-lan), sending … ~1 min 10 s left, B/A so far 2.00×")
    }

    /// A run that waits at the server says so under its own name.
    @Test func aWaitingRunSaysWhatItWaitsFor() {
        var status = ABProgress(pairs: 5, profile: "pi-lan")
        let queued = ProbeProgress(method: .sendfile, bytes: 0, totalBytes: nil, elapsed: .zero, queuePosition: 2)
        #expect(status.waitingLine(queued) == "warm-up: queued at the server, position 2 …")
        status.starting(pair: 3, side: .b, direction: .receive, at: .now)
        let preparing = ProbeProgress(
            method: .sendfile, bytes: 0, totalBytes: nil, elapsed: .zero,
            serverPreparing: PreparingMessage(bytes: 256 << 20, resident: 0, read: 64 << 20))
        #expect(
            status.waitingLine(preparing)
                == "pair 3/5: B (pi-lan), receiving (the server sends): the server is preparing its payload (256 MiB), 25 % …")
        #expect(status.waitingLine(ProbeProgress(method: .sendfile, bytes: 10, totalBytes: nil, elapsed: .seconds(1))) == nil)
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
