import Foundation
import SystemPackage
import Testing

@testable import NetTune
@testable import NetTuneCommands

/// `nettune report`: the SVG's data points are the JSON's figures, and the page
/// is self-contained.
@Suite struct ReportTests {
    static let abJSON = """
        {"profile": "pi-lan", "peer": "10.0.0.2:9000", "method": "sendfile", "directions": ["send"], "verdict": "better", "final": "b",
         "comparisons": {"send": {"throughput_ratio": 2.0, "throughput_ci": [1.8, 2.2], "verdict": "better", "pairs": 3}},
         "a": {"runs": [RUNS_A]}, "b": {"runs": [RUNS_B]}}
        """

    static func run(_ bps: Double, cpu: Double = 0.5, intervals: String = "") -> String {
        """
        {"method": "sendfile", "direction": "send", "throughput_bps": \(bps), "bytes": \(1 << 30),
         "sender": {"cpu_user_s": 0, "cpu_sys_s": \(cpu)}, "receiver": {"cpu_user_s": 0, "cpu_sys_s": 0.25}, "intervals": [\(intervals)]}
        """
    }

    /// Every `data-series`/`data-y` pair of the page, in order.
    static func points(_ html: String, series: String) -> [Double] {
        html.components(separatedBy: "data-series=\"\(series)\"").dropFirst().compactMap { rest in
            guard let y = rest.range(of: "data-y=\"") else { return nil }
            return Double(rest[y.upperBound...].prefix { $0 != "\"" })
        }
    }

    @Test func anABPagesPointsAreItsRuns() throws {
        let dir = try TemporaryDirectory()
        let text = Self.abJSON.replacingOccurrences(of: "RUNS_A", with: [4e8, 4.1e8, 3.9e8].map { Self.run($0) }.joined(separator: ","))
            .replacingOccurrences(of: "RUNS_B", with: [8e8, 8.2e8, 7.8e8].map { Self.run($0, cpu: 0.25) }.joined(separator: ","))
        try dir.write("ab.json", text)
        let ab = try ReportInputs.ab(at: dir.path + "/ab.json")
        let html = HTMLReport.render(ab: ab, probe: nil, history: [], generated: Date(timeIntervalSince1970: 0))
        #expect(Self.points(html, series: "A (current)").prefix(3) == [4e8, 4.1e8, 3.9e8])
        #expect(Self.points(html, series: "B (pi-lan)").prefix(3) == [8e8, 8.2e8, 7.8e8])
        // Then the CPU chart: CPU-seconds per GiB (each run moved 1 GiB).
        #expect(Self.points(html, series: "A (current)").dropFirst(3) == [0.5, 0.5, 0.5])
        #expect(html.contains("B/A 2.00×, 95 % interval [1.80, 2.20] — better"))
        #expect(html.contains("throughput (bit/s)") && html.contains("CPU-seconds per GiB"))
        // Self-contained: no script, nothing fetched.
        #expect(!html.contains("<script") && !html.contains("http://") && !html.contains("https://") && !html.contains("src="))
    }

    @Test func aProbesIntervalsAndRunsAreCharted() throws {
        let dir = try TemporaryDirectory()
        let intervals = #"{"start_s": 0, "end_s": 0.5, "bytes": 25000000}, {"start_s": 0.5, "end_s": 1, "bytes": 50000000}"#
        try dir.write("probe.json", #"{"peer": "nas.lan:9000", "runs": [\#(Self.run(6e8, intervals: intervals)), \#(Self.run(6.5e8))]}"#)
        let html = HTMLReport.render(ab: nil, probe: try ReportInputs.probe(at: dir.path + "/probe.json"), history: [], generated: Date())
        #expect(Self.points(html, series: "run 1") == [4e8, 8e8])
        #expect(Self.points(html, series: "sendfile send") == [6e8, 6.5e8])
        #expect(html.contains("time since the run began (s)"))
    }

    @Test func theHistoryIsColouredByTuningWithItsChangesMarked() throws {
        let report = HistoryTests().report([1e8, 1e8])
        var entries = [
            HistoryEntry(report: report, method: .sendfile, fingerprint: HistoryTests().fingerprint("1 2 3"), time: 1_000),
            HistoryEntry(report: report, method: .sendfile, fingerprint: HistoryTests().fingerprint("4 5 6", profiles: ["pi-lan"]), time: 2_000)
        ]
        entries[1].throughputs = [3e8, 3e8]
        let html = HTMLReport.render(ab: nil, probe: nil, history: entries, generated: Date())
        #expect(Self.points(html, series: "fingerprint \(entries[0].fingerprintID)") == [1e8])
        #expect(Self.points(html, series: "pi-lan (\(entries[1].fingerprintID))") == [3e8])
        #expect(html.contains("class=\"marker\""))
        #expect(html.contains("→ pi-lan"))
    }

    @Test func inputsThatAreNotTheRightJSONAreRefusedWithTheirPath() throws {
        let dir = try TemporaryDirectory()
        try dir.write("x.json", "[1, 2]")
        try dir.write("probe.json", #"{"runs": []}"#)
        #expect(throws: ReportInputError.self) { try ReportInputs.ab(at: dir.path + "/x.json") }
        #expect(throws: ReportInputError.self) { try ReportInputs.ab(at: dir.path + "/probe.json") }
        #expect(throws: (any Error).self) { try ReportInputs.probe(at: dir.path + "/missing.json") }
        // Hostile text is escaped, not markup.
        let page = HTMLReport.render(
            ab: ReportInputs.ABInput(
                profile: "<script>", peer: "\"x", a: [], b: [], directions: [], comparisons: [:], verdict: "<b>", final: "a"),
            probe: nil, history: [], generated: Date())
        #expect(!page.contains("<script>") && page.contains("&lt;script&gt;"))
    }

    /// A figure no measurement gives is refused with where it was, not charted.
    @Test func impossibleFiguresAreRefusedWithWhereTheyWere() throws {
        let cases: [(json: String, names: String)] = [
            (#"{"runs": [\#(Self.run(1e308))]}"#, "runs[0].throughput_bps"),
            (#"{"runs": [\#(Self.run(1e9)), \#(Self.run(-1))]}"#, "runs[1].throughput_bps"),
            (#"{"runs": [\#(Self.run(1e9, cpu: -2))]}"#, "runs[0].sender.cpu_sys_s"),
            (#"{"runs": [\#(Self.run(1e9, intervals: #"{"start_s": 0, "end_s": 1e-9, "bytes": 1e12}"#))]}"#, "runs[0].intervals[0]"),
            (#"{"runs": [\#(Self.run(1e9, intervals: #"{"start_s": -5, "end_s": 1, "bytes": 1}"#))]}"#, "runs[0].intervals[0].start_s")
        ]
        for (json, name) in cases {
            #expect {
                try ReportInputs.probe(json: Array(json.utf8), path: "p.json")
            } throws: { error in
                "\(error)".hasPrefix("p.json: \(name) is ") && "\(error)".contains("no measurement gives")
            }
        }
        let ab = Self.abJSON.replacingOccurrences(of: "RUNS_A", with: Self.run(1e9)).replacingOccurrences(of: "RUNS_B", with: Self.run(1e9))
        let badRatio = ab.replacingOccurrences(of: #""throughput_ratio": 2.0"#, with: #""throughput_ratio": 1e300"#)
        #expect(throws: ReportInputError.self) { try ReportInputs.ab(json: Array(badRatio.utf8), path: "ab.json") }
        #expect(try ReportInputs.ab(json: Array(ab.utf8), path: "ab.json").a.count == 1)
    }

    /// Text from the file is made safe to show, directions are listed once, and
    /// figures at the limits chart without trapping.
    @Test func textIsCleanedAndFiguresAtTheLimitsChart() throws {
        let runs = [Self.run(ResultLimits.bitsPerSecond, cpu: 0), Self.run(0)].joined(separator: ",")
        let ab = Self.abJSON.replacingOccurrences(of: "RUNS_A", with: runs).replacingOccurrences(of: "RUNS_B", with: runs)
            .replacingOccurrences(of: #""pi-lan""#, with: #""pi\u001b[2J""#).replacingOccurrences(of: #"["send"]"#, with: #"["send", "send"]"#)
        let input = try ReportInputs.ab(json: Array(ab.utf8), path: "ab.json")
        #expect(input.profile == "pi?[2J")
        #expect(input.directions == ["send"])
        let page = HTMLReport.render(ab: input, probe: nil, history: [], generated: Date())
        #expect(!page.unicodeScalars.contains { $0.value == 0x1B })
        #expect(Self.points(page, series: "A (current)").prefix(2) == [ResultLimits.bitsPerSecond, 0])
    }

    @Test func niceCeilingsAndAnEmptyPage() {
        #expect(SVGChart.niceCeiling(830e6) == 1e9)
        #expect(SVGChart.niceCeiling(0.13) == 0.2)
        #expect(SVGChart.niceCeiling(2.1) == 2.5)
        #expect(HTMLReport.render(ab: nil, probe: nil, history: [], generated: Date()).contains("Nothing to show"))
    }
}
