import Foundation
import Testing

/// `nettune report` of a real probe, drawn by headless Chromium (which the test
/// command installs): the page's points are the probe's intervals, and the picture
/// has the size asked for and is not blank.
@Suite(.enabled(if: TestEnvironment.isRoot, TestEnvironment.rootReason))
struct ReportIntegrationTests {
    static var browser: String? {
        ["/usr/bin/chromium-headless-shell", "/usr/bin/chromium"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    @Test func aProbeReportRendersInChromium() throws {
        try Scratch.with { scratch in
            try Lab.with(rateA: "200mbit") { lab in
                let (probe, _) = try lab.withServer {
                    try lab.nettune(
                        in: lab.nsA,
                        [
                            "probe", lab.addrB, "--time", "2s", "--interval", "0.5s", "--runs", "2", "--warmup", "0",
                            "--cache-dir", scratch.path, "--history", scratch.path + "/history.jsonl", "--json"
                        ])
                }
                #expect(probe.status == 0, "\(probe.stderr)")
                try probe.stdout.write(toFile: scratch.path + "/probe.json", atomically: true, encoding: .utf8)
                let made = try lab.nettune(
                    in: lab.nsA,
                    ["report", "--probe", scratch.path + "/probe.json", "--history", scratch.path + "/history.jsonl", "-o", scratch.path + "/r.html"])
                #expect(made.status == 0, "\(made.stderr)")
                let html = try String(contentsOfFile: scratch.path + "/r.html", encoding: .utf8)

                // The first run's interval points are its intervals' rates.
                let report = try #require(try JSONSerialization.jsonObject(with: Data(probe.stdout.utf8)) as? [String: Any])
                let intervals = try #require(((report["runs"] as? [[String: Any]])?.first?["intervals"]) as? [[String: Any]])
                let expected = intervals.compactMap { $0["throughput_bps"] as? Double }
                let drawn = html.components(separatedBy: "data-series=\"run 1\"").dropFirst().compactMap { rest -> Double? in
                    guard let y = rest.range(of: "data-y=\"") else { return nil }
                    return Double(rest[y.upperBound...].prefix { $0 != "\"" })
                }
                #expect(expected.count >= 3)
                #expect(drawn.count == expected.count)
                for (a, b) in zip(drawn, expected) { #expect(abs(a - b) <= b * 1e-9, "\(a) vs \(b)") }

                let browser = try #require(Self.browser, "Chromium is missing: scripts/install-deps installs chromium-headless-shell")
                let png = scratch.path + "/r.png"
                let shot = try Command.run([
                    browser, "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=860,1400", "--screenshot=\(png)",
                    "file://\(scratch.path)/r.html"
                ])
                #expect(shot.status == 0, "\(shot.stderr)")
                let stats = try Command.run([TestEnvironment.packageRoot.appendingPathComponent("scripts/png-stats").path, png])
                let picture = try #require(try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any], "\(stats.stderr)")
                #expect(picture["width"] as? Int == 860)
                #expect(picture["height"] as? Int == 1400)
                // Charts, not a blank page, and not a page of one colour.
                let ink = try #require(picture["nonwhite"] as? Double)
                #expect(ink > 0.02 && ink < 0.6, "\(ink)")
                #expect((picture["colours"] as? Int ?? 0) > 20)
            }
        }
    }
}

/// The real binary on result files from outside: a history with lines no
/// measurement gives lists the rest and says how many it skipped; a report input
/// holding such a figure is refused, naming it, and no page is written.
@Suite struct ResultFileIntegrationTests {
    @Test func impossibleFiguresAreSkippedOrRefusedNeverATrap() throws {
        try Scratch.with { scratch in
            let good =
                #"{"bytes":1048576,"fingerprint":{"interface":"eth0","kernel":"6.18","mtu":1500,"peer":"10.0.0.2:9000","profiles":[],"sysctls":{}},"fingerprint_id":"1a2b3c4d","method":"sendfile","peer":"10.0.0.2:9000","receiver_cpu_s_per_gib":[0.1],"sender_cpu_s_per_gib":[0.2],"throughput_bps":[940000000],"time":1800000000}"#
            let lines = [
                good,
                good.replacingOccurrences(of: "[940000000]", with: "[1e308]"),
                good.replacingOccurrences(of: #""time":1800000000"#, with: #""time":9223372036854775807"#)
            ]
            let history = scratch.path + "/history.jsonl"
            try (lines.joined(separator: "\n") + "\n").write(toFile: history, atomically: true, encoding: .utf8)
            let listed = try Command.run([TestEnvironment.binary, "history", "--history", history], environment: TestEnvironment.isolatedEnvironment)
            #expect(listed.status == 0, "\(listed.stderr)")
            #expect(listed.stdout.contains("940 Mbit/s"))
            #expect(listed.stderr.contains("skipped 2 lines of \(history)"))
            let page = scratch.path + "/r.html"
            let drawn = try Command.run(
                [TestEnvironment.binary, "report", "--history", history, "-o", page], environment: TestEnvironment.isolatedEnvironment)
            #expect(drawn.status == 0 && FileManager.default.fileExists(atPath: page), "\(drawn.stderr)")

            let probe = scratch.path + "/probe.json"
            try #"{"peer": "x:9000", "runs": [{"throughput_bps": 1e308, "bytes": 1073741824}]}"#.write(
                toFile: probe, atomically: true, encoding: .utf8)
            let refused = try Command.run(
                [TestEnvironment.binary, "report", "--probe", probe, "--no-history", "-o", scratch.path + "/bad.html"],
                environment: TestEnvironment.isolatedEnvironment)
            #expect(refused.status == 1)
            #expect(refused.stderr.contains("runs[0].throughput_bps is 1e+308, which no measurement gives"), "\(refused.stderr)")
            #expect(!FileManager.default.fileExists(atPath: scratch.path + "/bad.html"))
        }
    }
}
