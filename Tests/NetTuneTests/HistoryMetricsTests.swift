import Testing

@testable import NetTune
@testable import NetTuneCommands

/// `history --format openmetrics`: the latest result of each series as gauges.
@Suite struct HistoryMetricsTests {
    func entry(peer: String = "10.0.0.2:9000", time: Int, bps: Double, source: HistoryEntry.Source = .probe, verdict: Comparison.Verdict? = nil)
        -> HistoryEntry
    {
        var entry = HistoryEntry(
            report: HistoryTests().report([bps, bps], peer: peer), method: .sendfile,
            fingerprint: HistoryTests().fingerprint("1 2 3", profiles: ["pi \"lan\"\\x"]), time: time)
        entry.source = source
        entry.verdict = verdict
        entry.retransmits = [2, 4]
        return entry
    }

    @Test func theLatestOfEachSeriesIsShownOnce() {
        let text = HistoryMetrics.render([
            entry(time: 1, bps: 8e8), entry(time: 2, bps: 9.6e8), entry(time: 3, bps: 1e9, source: .applyB, verdict: .better)
        ])
        let throughput = text.split(separator: "\n").filter { $0.hasPrefix("nettune_throughput_bytes_per_second{") }
        #expect(throughput.count == 2)
        #expect(throughput[0].hasSuffix(" 120000000"))  // the probe's latest: 960 Mbit/s
        #expect(throughput[1].contains("source=\"apply-b\""))
        #expect(text.contains("# TYPE nettune_throughput_bytes_per_second gauge"))
        #expect(text.contains("nettune_retransmits{") && text.contains("} 3\n"))
        #expect(text.hasSuffix("# EOF\n"))
    }

    @Test func aVerdictIsOneSamplePerState() {
        let text = HistoryMetrics.render([entry(time: 1, bps: 1e9, source: .applyB, verdict: .worse)])
        let states = text.split(separator: "\n").filter { $0.hasPrefix("nettune_verdict{") }
        #expect(states.count == 3)
        #expect(states.filter { $0.hasSuffix(" 1") }.count == 1)
        #expect(states.contains { $0.contains("verdict=\"worse\"} 1") })
        // Without verdicts the family is left out.
        #expect(!HistoryMetrics.render([entry(time: 1, bps: 1e9)]).contains("nettune_verdict"))
    }

    @Test func labelValuesAreEscaped() {
        let labels = HistoryMetrics.labels(entry(time: 1, bps: 1e9))
        #expect(labels.contains(#"tuning="pi \"lan\"\\x""#))
        #expect(HistoryMetrics.escape("a\nb") == "a\\nb")
    }

    @Test func anEmptyHistoryIsJustTheEnd() {
        #expect(HistoryMetrics.render([]) == "# EOF\n")
    }
}
