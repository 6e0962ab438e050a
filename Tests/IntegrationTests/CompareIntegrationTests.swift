import Foundation
import Testing

/// `apply PROFILE --probe`: the A/B comparison run for real between lab namespaces.
@Suite(.enabled(if: TestEnvironment.isRoot, TestEnvironment.rootReason))
struct CompareIntegrationTests {
    static let raiseBuffers = """
        version = 1
        description = "raise buffers only"
        [sysctl]
        net.ipv4.tcp_wmem = "4096 1048576 16777216"
        net.ipv4.tcp_rmem = "4096 1048576 16777216"
        """

    private func decode(_ result: CommandResult) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result.stderr)")
    }

    /// A starved sender on the unshaped veth: its 4 KiB buffer cannot hold one
    /// window. The gain is real but noisy on two shared CPUs (starved runs vary
    /// 6–20 Gbit/s here), so the runs are timed (1 s each) and the bar is modest.
    @Test func restoringAStarvedSendBufferIsBetterAndTheDiagnosisSaysWhy() throws {
        try Scratch.with { scratch in
            try Lab.with { lab in
                try lab.check(in: lab.nsA, ["sysctl", "-q", "-w", "net.ipv4.tcp_wmem=4096 4096 4096"])
                let result = try lab.withServer {
                    try lab.nettune(
                        in: lab.nsA,
                        [
                            "apply", "kernel-default", "--probe", "\(lab.addrB):9000", "--pairs", "6",
                            "--size", "64MiB", "--time", "1s", "--warmup", "8MiB", "--cache-dir", scratch.path,
                            "--state-dir", scratch.path + "/state", "--history", scratch.path + "/history.jsonl", "--json"
                        ])
                }.value
                #expect(result.status == 0, "\(result.stderr)")
                // Both sides are kept in the history, found by the peer's address alone.
                let history = try lab.nettune(in: lab.nsA, ["history", "--peer", lab.addrB, "--history", scratch.path + "/history.jsonl", "--json"])
                let entries = try #require(try JSONSerialization.jsonObject(with: Data(history.stdout.utf8)) as? [[String: Any]], "\(history.stderr)")
                #expect(entries.compactMap { $0["source"] as? String } == ["apply-a", "apply-b"])
                #expect(entries.allSatisfy { $0["address"] as? String == lab.addrB })
                #expect(entries.allSatisfy { ($0["throughput_bps"] as? [Double])?.count == 6 })
                let text = try lab.nettune(in: lab.nsA, ["history", "--peer", lab.addrB, "--history", scratch.path + "/history.jsonl"])
                #expect(text.stdout.contains("A/B: B") && text.stdout.contains("kernel-default ("), "\(text.stdout)")
                // The same history as metrics for node_exporter, as promtool reads them.
                let metrics = try lab.nettune(
                    in: lab.nsA, ["history", "--history", scratch.path + "/history.jsonl", "--textfile", scratch.path + "/textfile"])
                #expect(metrics.status == 0, "\(metrics.stderr)")
                let prom = try String(contentsOfFile: scratch.path + "/textfile/nettune.prom", encoding: .utf8)
                #expect(
                    prom.contains(
                        "nettune_verdict{peer=\"\(lab.addrB):9000\",method=\"sendfile\",direction=\"send\",streams=\"1\",source=\"apply-b\""))
                #expect(prom.contains("verdict=\"better\"} 1"))
                let lint = try Command.run(["sh", "-c", "promtool check metrics < '\(scratch.path)/textfile/nettune.prom'"])
                #expect(lint.status == 0, "\(lint.stdout)\(lint.stderr)")
                let none = try lab.nettune(in: lab.nsA, ["history", "--peer", "10.255.255.1", "--history", scratch.path + "/history.jsonl"])
                #expect(none.status == 1)
                #expect(none.stderr.contains("it has results for: \(lab.addrB):9000"), "\(none.stderr)")
                let report = try decode(result)
                let comparison = try #require((report["comparisons"] as? [String: Any])?["send"] as? [String: Any])
                #expect(comparison["verdict"] as? String == "better")
                #expect((comparison["throughput_ratio"] as? Double ?? 0) > 1.15)
                let ci = try #require(comparison["throughput_ci"] as? [Double])
                #expect(ci.count == 2 && ci[0] > 1 && ci[0] <= ci[1])
                #expect(comparison["pairs"] as? Int == 6)
                let a = try #require(report["a"] as? [String: Any]), b = try #require(report["b"] as? [String: Any])
                #expect((a["runs"] as? [Any])?.count == 6)
                #expect(((a["diagnosis"] as? [String: Any])?["bottleneck"] as? String) == "send-buffer")
                #expect(((b["diagnosis"] as? [String: Any])?["bottleneck"] as? String) != "send-buffer")
                // B stays applied, and revert returns to the starved original.
                #expect(report["final"] as? String == "b")
                #expect(try lab.sysctl(in: lab.nsA, "net/ipv4/tcp_wmem") == "4096 16384 4194304")
                #expect(try lab.nettune(in: lab.nsA, ["revert", "--state-dir", scratch.path + "/state"]).status == 0)
                #expect(try lab.sysctl(in: lab.nsA, "net/ipv4/tcp_wmem") == "4096 4096 4096")
            }
        }
    }

    @Test func onARateLimitedLinkRaisingBuffersMakesNoDifferenceAndIsRevertedIfNotBetter() throws {
        try Scratch.with { scratch in
            try scratch.write("raise.toml", Self.raiseBuffers)
            // The profile raises tcp_wmem and tcp_rmem, so both directions are measured:
            // both must be shaped (an unshaped receive direction showed a real gain once).
            try Lab.with(rateA: "100mbit", rateB: "100mbit") { lab in
                let before = (try lab.sysctl(in: lab.nsA, "net/ipv4/tcp_wmem"), try lab.sysctl(in: lab.nsA, "net/ipv4/tcp_rmem"))
                let result = try lab.withServer {
                    try lab.nettune(
                        in: lab.nsA,
                        [
                            "apply", "raise", "--probe", "\(lab.addrB):9000", "--pairs", "4",
                            "--size", "4MiB", "--warmup", "0", "--revert-if-worse",
                            "--profiles", scratch.path, "--cache-dir", scratch.path,
                            "--state-dir", scratch.path + "/state", "--json"
                        ])
                }.value
                #expect(result.status == 0, "\(result.stderr)")
                let report = try decode(result)
                let comparison = try #require((report["comparisons"] as? [String: Any])?["send"] as? [String: Any])
                #expect(comparison["verdict"] as? String == "no-difference")
                #expect(report["verdict"] as? String == "no-difference", "\(report["comparisons"] ?? "-")")
                let ci = try #require(comparison["throughput_ci"] as? [Double])
                // A shaped link may still show a real but tiny effect (a few tenths of a
                // per cent); the interval must reach into the ±1 % that counts as none.
                #expect(ci[0] <= 1.01 && 0.99 <= ci[1], "\(ci)")
                for side in ["a", "b"] {
                    let diagnosis = (report[side] as? [String: Any])?["diagnosis"] as? [String: Any]
                    #expect(diagnosis?["bottleneck"] as? String == "link-rate")
                }
                #expect(report["final"] as? String == "a")
                #expect(try lab.sysctl(in: lab.nsA, "net/ipv4/tcp_wmem") == before.0)
                #expect(try lab.sysctl(in: lab.nsA, "net/ipv4/tcp_rmem") == before.1)
                #expect(scratch.stateFiles(in: "state").isEmpty)
            }
        }
    }

    /// `apply raise --probe` over ten pairs of small runs, in the background.
    private func startComparing(_ lab: Lab, _ scratch: Scratch) throws -> RunningCommand {
        try Command.start([
            "ip", "netns", "exec", lab.nsA, TestEnvironment.binary, "apply", "raise",
            "--probe", "\(lab.addrB):9000", "--pairs", "10", "--size", "2MiB",
            "--warmup", "0", "--profiles", scratch.path, "--cache-dir", scratch.path,
            "--state-dir", scratch.path + "/state"
        ])
    }

    @Test func ctrlCInTheMiddleLeavesTheOriginalValues() throws {
        try Scratch.with { scratch in
            try scratch.write("raise.toml", Self.raiseBuffers)
            try Lab.with(rateA: "100mbit") { lab in
                let before = try lab.sysctl(in: lab.nsA, "net/ipv4/tcp_wmem")
                _ = try lab.withServer {
                    let comparing = try startComparing(lab, scratch)
                    // Wait until B has been applied at least once, then interrupt.
                    var sawB = false
                    for _ in 0..<200 where !sawB {
                        sawB = (try? lab.sysctl(in: lab.nsA, "net/ipv4/tcp_wmem")) == "4096 1048576 16777216"
                        Thread.sleep(forTimeInterval: 0.02)
                    }
                    #expect(sawB)
                    comparing.interrupt()
                    let result = try comparing.wait()
                    #expect(result.status == 130, "\(result.stderr)")
                    #expect(result.stderr.contains("interrupted (SIGINT) after"))
                    #expect(result.stderr.contains("the original values (A) are in place"))
                }
                #expect(try lab.sysctl(in: lab.nsA, "net/ipv4/tcp_wmem") == before)
                #expect(scratch.stateFiles(in: "state").isEmpty)
            }
        }
    }

    /// Another tuner at work during the comparison (bpftune raises tcp_wmem's max
    /// while a socket is short of buffer; here `sysctl -w`, again and again): it
    /// stops, names the setting, and leaves no snapshot.
    @Test func anotherTunerAtWorkStopsTheComparison() throws {
        try Scratch.with { scratch in
            try scratch.write("raise.toml", Self.raiseBuffers)
            try Lab.with(rateA: "100mbit") { lab in
                _ = try lab.withServer {
                    let comparing = try startComparing(lab, scratch)
                    var writes = 0
                    while !comparing.hasExited && writes < 400 {
                        _ = try Command.run(["ip", "netns", "exec", lab.nsA, "sysctl", "-qw", "net.ipv4.tcp_wmem=4096 20480 5242880"])
                        writes += 1
                        Thread.sleep(forTimeInterval: 0.05)
                    }
                    let result = try comparing.wait()
                    #expect(result.status == 1, "\(result.stderr)")
                    #expect(result.stderr.contains("net.ipv4.tcp_wmem changed during the comparison, not by nettune"), "\(result.stderr)")
                    #expect(result.stderr.contains("another tuner is at work here"))
                }
                #expect(scratch.stateFiles(in: "state").isEmpty)
            }
        }
    }

    /// The same during a plain probe: its runs would mix two tunings, so it says so
    /// and keeps the result out of the history.
    @Test func anotherTunerAtWorkDuringAProbeKeepsItOutOfTheHistory() throws {
        try Scratch.with { scratch in
            try Lab.with(rateA: "100mbit") { lab in
                _ = try lab.withServer {
                    let probing = try Command.start([
                        "ip", "netns", "exec", lab.nsA, TestEnvironment.binary, "probe", "\(lab.addrB):9000", "--runs", "5",
                        "--size", "2MiB", "--warmup", "0", "--cache-dir", scratch.path, "--history", scratch.path + "/history.jsonl"
                    ])
                    // A growing max, as bpftune raises it: the last value is never the first.
                    var max = 4_194_304
                    while !probing.hasExited && max < 4_194_304 + 400 * 4096 {
                        max += 4096
                        _ = try Command.run(["ip", "netns", "exec", lab.nsA, "sysctl", "-qw", "net.ipv4.tcp_wmem=4096 16384 \(max)"])
                        Thread.sleep(forTimeInterval: 0.05)
                    }
                    let result = try probing.wait()
                    #expect(result.status == 0, "\(result.stderr)")
                    #expect(result.stderr.contains("warning: the tuning changed while it measured (this machine's tcp_wmem"), "\(result.stderr)")
                    #expect(!scratch.exists("history.jsonl"))
                }
            }
        }
    }

    @Test func aPeerThatIsGoneLeavesTheOriginalValues() throws {
        try Scratch.with { scratch in
            try scratch.write("raise.toml", Self.raiseBuffers)
            try Lab.with { lab in
                let before = try lab.sysctl(in: lab.nsA, "net/ipv4/tcp_wmem")
                let result = try lab.nettune(
                    in: lab.nsA,
                    [
                        "apply", "raise", "--probe", "\(lab.addrB):9000", "--size", "1MiB",
                        "--warmup", "0", "--profiles", scratch.path, "--cache-dir", scratch.path,
                        "--state-dir", scratch.path + "/state"
                    ])
                #expect(result.status == 1)
                #expect(result.stderr.contains("the original values (A) are in place"))
                #expect(try lab.sysctl(in: lab.nsA, "net/ipv4/tcp_wmem") == before)
            }
        }
    }
}

@Suite(.enabled(if: TestEnvironment.isRoot, TestEnvironment.rootReason))
struct HistoryIntegrationTests {
    @Test func aProbeComparesWithTheLatestResultUnderOtherTuning() throws {
        try Scratch.with { scratch in
            try Lab.with { lab in
                _ = try lab.withServer {
                    let common = [
                        "probe", "\(lab.addrB):9000", "--size", "16MiB", "--warmup", "0", "--runs", "3",
                        "--history", scratch.path + "/history.jsonl", "--state-dir", scratch.path, "--json"
                    ]
                    let first = try lab.nettune(in: lab.nsA, common)
                    #expect(first.status == 0, "\(first.stderr)")
                    let firstJSON = try #require(try JSONSerialization.jsonObject(with: Data(first.stdout.utf8)) as? [String: Any])
                    #expect(firstJSON["baseline"] is NSNull)

                    // The receiver's window starved, a change at the far end: it cut the
                    // veth's throughput to 1.5 % of the first probe's in every run tried,
                    // where a starved tcp_wmem on this end once gave 1.09x.
                    try lab.check(in: lab.nsB, ["sysctl", "-q", "-w", "net.ipv4.tcp_rmem=4096 4096 4096"])
                    let second = try lab.nettune(in: lab.nsA, common)
                    let secondJSON = try #require(try JSONSerialization.jsonObject(with: Data(second.stdout.utf8)) as? [String: Any])
                    let baseline = try #require(secondJSON["baseline"] as? [String: Any])
                    #expect((baseline["label"] as? String)?.hasPrefix("fingerprint ") == true)
                    #expect((baseline["throughput_ratio"] as? Double ?? 2) < 1)
                    #expect((baseline["throughput_ci"] as? [Double])?.count == 2)

                    let history = try lab.nettune(in: lab.nsA, ["history", "--history", scratch.path + "/history.jsonl", "--json"])
                    let entries = try #require(try JSONSerialization.jsonObject(with: Data(history.stdout.utf8)) as? [[String: Any]])
                    #expect(entries.count == 2)
                    #expect(Set(entries.compactMap { $0["fingerprint_id"] as? String }).count == 2)
                    // The address the peer resolved to is kept beside the name typed.
                    #expect(entries.allSatisfy { $0["address"] as? String == lab.addrB })
                }
            }
        }
    }
}

@Suite(.enabled(if: TestEnvironment.isRoot, TestEnvironment.rootReason))
struct RecommendIntegrationTests {
    /// A device that downloads: `recommend -R` sizes from what the server sent, with
    /// the round-trip time from the server's TCP_INFO, and says it measured receiving.
    @Test func receivingItMeasuresWhatTheServerSends() throws {
        try Scratch.with { scratch in
            try Lab.with { lab in
                let (_, log) = try lab.withServer {
                    let result = try lab.nettune(
                        in: lab.nsA,
                        [
                            "recommend", "\(lab.addrB):9000", "-R", "--size", "16MiB", "--warmup", "0", "--runs", "2",
                            "--cache-dir", scratch.path, "--json"
                        ])
                    #expect(result.status == 0, "\(result.stderr)")
                    let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
                    let reasons = try #require(json["reasons"] as? [String])
                    #expect(reasons.first?.hasPrefix("Measured receiving (the server sent): ") == true, "\(reasons)")
                    #expect(reasons.contains { $0.hasPrefix("MTU not checked") }, "\(reasons)")
                    #expect((json["profile"] as? String)?.contains("`nettune recommend \(lab.addrB):9000 -R`") == true, "\(json)")
                    #expect(!scratch.exists("payload-\(16 << 20).bin"), "it sends nothing, so it makes no payload")
                }
                #expect(log.count == 2, "two runs, no warm-up: \(log)")
                #expect(log.allSatisfy { $0["direction"] as? String == "receive" && $0["outcome"] as? String == "completed" }, "\(log)")
            }
        }
    }

    @Test func onALANItRecommendsNoChangeAndWritesAValidProfile() throws {
        try Scratch.with { scratch in
            try Lab.with { lab in
                _ = try lab.withServer {
                    let result = try lab.nettune(
                        in: lab.nsA,
                        [
                            "recommend", "\(lab.addrB):9000", "--size", "16MiB", "--warmup", "0",
                            "--write", "lab-measured", "--directory", scratch.path, "--json"
                        ])
                    #expect(result.status == 0, "\(result.stderr)")
                    let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
                    #expect((json["sysctls"] as? [String: Any])?.isEmpty == true, "a veth LAN needs no buffer change")
                    #expect(json["mtu"] is NSNull)
                    #expect(scratch.exists("lab-measured.toml"))
                    let shown = try lab.nettune(in: lab.nsA, ["profiles", "show", "lab-measured", "--profiles", scratch.path])
                    #expect(shown.status == 0, "\(shown.stderr)")
                    #expect(shown.stdout.contains("include = [\"kernel-default\"]"))
                    // Not overwritten without --force.
                    let again = try lab.nettune(
                        in: lab.nsA,
                        [
                            "recommend", "\(lab.addrB):9000", "--size", "4MiB", "--warmup", "0",
                            "--write", "lab-measured", "--directory", scratch.path
                        ])
                    #expect(again.status != 0)
                    #expect(again.stderr.contains("exists"))
                    // Nor as the profile it includes, nor beside a shipped one; both before
                    // anything is measured (the server logs no second probe).
                    for (name, said) in [("kernel-default", "it would include itself"), ("pi-lan", "a profile named pi-lan already exists")] {
                        let refused = try lab.nettune(
                            in: lab.nsA, ["recommend", "\(lab.addrB):9", "--write", name, "--directory", scratch.path])
                        #expect(refused.status == 1)
                        #expect(refused.stderr.contains(said), "\(refused.stderr)")
                        #expect(!scratch.exists("\(name).toml"))
                    }
                }
            }
        }
    }
}
