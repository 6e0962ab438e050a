import Foundation
import Testing

@testable import NetTune
@testable import NetTuneCommands

/// What `probe` prints while it runs: interval lines with numbers, and the
/// `--json-stream` objects with their documented keys.
@Suite struct LiveOutputTests {
    let sent = DirectedInterval(
        direction: .send,
        interval: Interval(start: 1, end: 2, bytes: 117_500_000, retransmits: 4, congestionWindowBytes: 3 << 20, rttMicroseconds: 1500))
    let received = DirectedInterval(direction: .receive, interval: Interval(start: 0, end: 0.5, bytes: 5_000_000))

    @Test func anIntervalLineHasItsNumbers() {
        let line = ProbeTable.intervalLine(.run(index: 2, of: 3), sent)
        #expect(line.hasPrefix("2/3   send    1.00-2.00 s"))
        #expect(line.contains("112.1 MiB"))
        #expect(line.contains("940 Mbit/s"))
        #expect(line.contains(" 4 "))
        #expect(line.contains("3 MiB"))
        #expect(line.hasSuffix("1.50 ms"))
        // The columns line up with their heads.
        #expect(line.count == ProbeTable.intervalColumns.count)
    }

    @Test func aReceivedIntervalHasNoSenderFigures() {
        let line = ProbeTable.intervalLine(.run(index: 1, of: 1), received)
        #expect(line.contains("receive 0.00-0.50 s"))
        #expect(line.contains("80 Mbit/s"))
        #expect(line.hasSuffix("-           -         -"))
    }

    private func object(_ value: some Encodable) throws -> [String: Any] {
        let text = try JSONOutput.encodeLine(value)
        #expect(!text.contains("\n"))
        return try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func anIntervalEventCarriesTheIntervalsKeys() throws {
        let event = try object(ProbeStreamJSON.IntervalEvent(stage: .run(index: 2, of: 3), method: .splice, ended: sent))
        #expect(
            Set(event.keys)
                == [
                    "type", "run", "method", "direction", "start_s", "end_s", "bytes", "throughput_bps", "retransmits", "snd_cwnd_bytes",
                    "rtt_us"
                ])
        #expect(event["type"] as? String == "interval")
        #expect(event["run"] as? Int == 2)
        #expect(event["method"] as? String == "splice")
        #expect(event["bytes"] as? Int == 117_500_000)
        #expect(event["retransmits"] as? Int == 4)
        let receiving = try object(ProbeStreamJSON.IntervalEvent(stage: .run(index: 1, of: 1), method: .sendfile, ended: received))
        #expect(receiving["direction"] as? String == "receive")
        #expect(receiving["rtt_us"] is NSNull)
    }

    @Test func theResultEventIsTheJSONResultWithAType() throws {
        let report = ProbeOutputTests().report()
        let plain = try #require(
            try JSONSerialization.jsonObject(with: Data(try JSONOutput.encode(ProbeJSON(report, multipleMethods: false)).utf8)) as? [String: Any])
        let streamed = try object(ProbeStreamJSON.Result(result: ProbeJSON(report, multipleMethods: false)))
        #expect(streamed["type"] as? String == "result")
        #expect(Set(streamed.keys) == Set(plain.keys).union(["type"]))
    }

    @Test func theStartEventSaysWhatIsMeasured() throws {
        var report = ProbeOutputTests().report()
        report.runs = []
        let start = try object(ProbeStreamJSON.Start(ProbeHeader(report: report, remoteAddress: "10.0.0.2:9000", runs: 3, warmupBytes: 0)))
        #expect(start["type"] as? String == "start")
        #expect(start["resolved"] as? String == "10.0.0.2:9000")
        #expect(start["protocol"] as? String == "nettune")
        #expect(start["congestion"] as? String == "bbr")
        #expect(start["egress_interface"] as? String == "eth0")
        #expect(start["runs"] as? Int == 3)
        #expect(start["version"] as? String == NetTuneVersion.current)
    }

    @Test func theHeaderNamesTheResolvedAddressOnlyWhenItDiffers() {
        var report = ProbeOutputTests().report()
        report.runs = []
        report.peer = Endpoint(host: "nas.lan", port: 9000)
        #expect(ProbeTable.header(report, resolved: "10.0.0.2:9000").hasPrefix("Probe to nas.lan:9000 (10.0.0.2:9000): sending"))
        report.peer = Endpoint(host: "10.0.0.2", port: 9000)
        #expect(ProbeTable.header(report, resolved: "10.0.0.2:9000").hasPrefix("Probe to 10.0.0.2:9000: sending"))
        #expect(ProbeTable.header(report).contains("congestion bbr, egress eth0 (MTU 1500)"))
    }
}

@Suite struct ProgressLineTests {
    @Test func aSizedRunSaysHowLongIsLeft() {
        let half = ProbeProgress(method: .sendfile, bytes: 50 << 20, totalBytes: 100 << 20, elapsed: .seconds(4))
        // The runs to come count in the probe's time: two more of 8 s each.
        #expect(
            ProbeTable.progressLine(.run(index: 1, of: 3), half) == "run 1/3 sendfile: 50 MiB of 100 MiB  105 Mbit/s, ~4 s left (~20 s in all)")
        #expect(ProbeTable.progressLine(.run(index: 3, of: 3), half) == "run 3/3 sendfile: 50 MiB of 100 MiB  105 Mbit/s, ~4 s left")
        #expect(!ProbeTable.progressLine(.warmup, half).contains("in all"))
        let timed = ProbeProgress(method: .splice, bytes: 50 << 20, totalBytes: nil, elapsed: .seconds(4))
        #expect(!ProbeTable.progressLine(.warmup, timed).contains("left"))
        let queued = ProbeProgress(method: .sendfile, bytes: 0, totalBytes: nil, elapsed: .zero, queuePosition: 2)
        #expect(ProbeTable.progressLine(.run(index: 1, of: 1), queued) == "run 1/1: queued at the server, position 2 …")
        let preparing = ProbeProgress(
            method: .sendfile, bytes: 0, totalBytes: nil, elapsed: .zero,
            serverPreparing: PreparingMessage(bytes: 256 << 20, resident: 0, read: 64 << 20))
        #expect(
            ProbeTable.progressLine(.warmup, preparing) == "warm-up: the server is preparing its payload (256 MiB), 25 % …")
    }

    /// Where the interval boundaries fall, with no streams (no counters to read).
    func sampledIntervals(timed: Bool, ticks: [Double], end: Double) -> [Interval] {
        let start = ContinuousClock.now
        var sampler = IntervalSampler(
            interval: .seconds(1), start: start, runEnd: timed ? start + .seconds(3) : nil, connections: [],
            message: ProbeRequestMessage(
                direction: .send, method: .sendfile, streams: 1, length: nil, duration: .seconds(3), queueWait: .zero, token: [],
                software: ""),
            streams: StreamSet(count: 0))
        for tick in ticks { sampler.sample(at: start + .seconds(tick)) }
        sampler.sample(at: start + .seconds(end), final: true)
        return sampler.intervals(.send)
    }

    @Test func aTickJustPastATimedRunsEndLeavesItsLastIntervalToTheFinalSample() {
        // The 50 ms tick may see the 3 s boundary before the streams have ended.
        let ticks = [0.05, 1.02, 1.5, 2.04, 3.01]
        let timed = sampledIntervals(timed: true, ticks: ticks, end: 3.06)
        #expect(timed.map(\.start) == [0, 1.02, 2.04])
        #expect(timed.last?.end == 3.06)
        // A run of a size has no known end: each boundary closes when it is passed.
        let sized = sampledIntervals(timed: false, ticks: ticks, end: 3.06)
        #expect(sized.map(\.start) == [0, 1.02, 2.04, 3.01])
    }
}
