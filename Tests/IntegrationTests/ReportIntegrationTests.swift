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
