import Foundation
import Glibc
import Testing

/// The probe shows its run while it happens: `--json-stream` lines arrive as they
/// are made, intervals are on by default on a terminal and off in a pipe, and a
/// pipe gets no progress decoration.
@Suite(.enabled(if: TestEnvironment.isRoot, TestEnvironment.rootReason))
struct LiveOutputIntegrationTests {
    private func objects(_ text: String) -> [[String: Any]] {
        text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    @Test func jsonStreamLinesArriveWhileTheProbeRuns() throws {
        try Scratch.with { scratch in
            try Lab.with(rateA: "200mbit") { lab in
                let (result, _) = try lab.withServer {
                    let probe = try Command.start(
                        [
                            "ip", "netns", "exec", lab.nsA, TestEnvironment.binary, "probe", "\(lab.addrB):\(Lab.probePort)",
                            "--time", "3s", "--interval", "0.5s", "--runs", "1", "--warmup", "0", "--cache-dir", scratch.path,
                            "--json-stream"
                        ])
                    // The start line, then an interval, each while the probe still runs.
                    var seen: Set<String> = []
                    for _ in 0..<200 where !seen.contains("interval") {
                        for object in objects(probe.stdoutSoFar) {
                            if let type = object["type"] as? String, !probe.hasExited { seen.insert(type) }
                        }
                        Thread.sleep(forTimeInterval: 0.02)
                    }
                    #expect(seen.contains("start"))
                    #expect(seen.contains("interval"))
                    #expect(!seen.contains("result"))
                    return try probe.wait()
                }
                #expect(result.status == 0, "\(result.stderr)")
                #expect(result.stderr.isEmpty, "\(result.stderr)")
                let lines = objects(result.stdout)
                #expect(lines.count == result.stdout.split(separator: "\n").count)  // every line is one JSON object
                #expect(lines.first?["type"] as? String == "start")
                #expect(lines.first?["resolved"] as? String == "\(lab.addrB):\(Lab.probePort)")
                let final = try #require(lines.last)
                #expect(final["type"] as? String == "result")
                let intervals = lines.filter { $0["type"] as? String == "interval" }
                #expect((5...7).contains(intervals.count), "\(intervals.count) intervals")
                // The live intervals are the result's intervals.
                let run = try #require((final["runs"] as? [[String: Any]])?.first)
                let stored = try #require(run["intervals"] as? [[String: Any]])
                #expect(stored.map { $0["bytes"] as? Int } == intervals.map { $0["bytes"] as? Int })
                // Acknowledged bytes: a 200 Mbit/s shaper's goodput, never more.
                for interval in intervals.dropLast() {
                    let rate = try #require(interval["throughput_bps"] as? Double)
                    #expect(rate < 200e6 * 1448 / 1514 * 1.05, "\(interval)")
                    #expect(interval["retransmits"] is Int && interval["snd_cwnd_bytes"] is Int && interval["rtt_us"] is Int)
                }
            }
        }
    }

    @Test func aTerminalGetsIntervalLinesByDefaultAndAPipeDoesNot() throws {
        try Scratch.with { scratch in
            try Lab.with { lab in
                let arguments = [
                    TestEnvironment.binary, "probe", "\(lab.addrB):\(Lab.probePort)", "--time", "3s", "--runs", "1", "--warmup", "0",
                    "--cache-dir", scratch.path
                ]
                let (results, _) = try lab.withServer {
                    // script(1) gives the probe a pseudo-terminal for stdout and stderr.
                    let command = (["ip", "netns", "exec", lab.nsA] + arguments).joined(separator: " ")
                    let terminal = try Command.run(["script", "-qec", command, "/dev/null"])
                    let piped = try lab.nettune(in: lab.nsA, Array(arguments.dropFirst()))
                    return (terminal, piped)
                }
                let (terminal, piped) = results
                #expect(terminal.status == 0, "\(terminal.stdout)")
                // The header first, then the column heads and one line a second. The
                // terminal also shows the progress line (stderr), redrawn after "\r ESC[K":
                // what a person sees of each line is what follows the last redraw.
                // (A terminal ends lines with "\r\n", one Character to Swift.)
                let lines = terminal.stdout.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n").map { line in
                    String(line.components(separatedBy: "\u{1B}[K").last ?? "").replacingOccurrences(of: "\r", with: "")
                }
                let header = try #require(lines.firstIndex { $0.contains("Probe to \(lab.addrB):\(Lab.probePort)") })
                let columns = try #require(lines.firstIndex { $0.contains("interval") && $0.contains("throughput") && $0.contains("rtt") })
                #expect(header < columns)
                #expect(lines.filter { $0.contains("1/1   send") }.count == 3)
                #expect(piped.status == 0, "\(piped.stderr)")
                #expect(!piped.stdout.contains("1/1   send"))
                #expect(piped.stdout.hasPrefix("Probe to"))
                #expect(piped.stderr.isEmpty, "\(piped.stderr)")
            }
        }
    }

    @Test func anABTestOnATerminalSaysHowLongIsLeftAndWhatItWaitsForAndAPipeOnlyGetsWarnings() throws {
        try Scratch.with { scratch in
            try Lab.with { lab in
                try lab.check(in: lab.nsA, ["sysctl", "-q", "-w", "net.ipv4.tcp_wmem=4096 4096 4096"])
                func arguments(_ state: String) -> [String] {
                    [
                        TestEnvironment.binary, "apply", "kernel-default", "--probe", lab.addrB, "--pairs", "3", "--size", "16MiB",
                        "--warmup", "0", "--revert", "--state-dir", scratch.path + "/" + state, "--cache-dir", scratch.path,
                        "--history", scratch.path + "/history.jsonl"
                    ]
                }
                let (results, _) = try lab.withServer {
                    // Another probe holds the server, so the first run waits in its queue.
                    let holder = try Command.start([
                        "ip", "netns", "exec", lab.nsA, TestEnvironment.binary, "probe", lab.addrB, "--time", "3s", "--runs", "1",
                        "--warmup", "0", "--cache-dir", scratch.path, "--history", scratch.path + "/holder.jsonl"
                    ])
                    for _ in 0..<100 {
                        let ss = try lab.check(in: lab.nsB, ["ss", "-Htn", "state", "established", "sport = :\(Lab.probePort)"])
                        if ss.split(separator: "\n").count >= 2 { break }
                        Thread.sleep(forTimeInterval: 0.02)
                    }
                    let command = (["ip", "netns", "exec", lab.nsA] + arguments("tty")).joined(separator: " ")
                    let terminal = try Command.run(["script", "-qec", command, "/dev/null"])
                    #expect(try holder.wait().status == 0)
                    return (terminal, try lab.nettune(in: lab.nsA, Array(arguments("pipe").dropFirst())))
                }
                let (terminal, piped) = results
                #expect(terminal.status == 0, "\(terminal.stdout)")
                // It said so, under the run's own name, though it shows no transfer progress.
                #expect(terminal.stdout.contains("pair 1/3: A (current), sending: queued at the server, position 1 …"), "\(terminal.stdout)")
                // The progress line, redrawn: by pair 2 it knows the time left and B/A so far.
                #expect(terminal.stdout.contains("pair 2/3: A (current), sending …"), "\(terminal.stdout)")
                #expect(terminal.stdout.contains(" left, B/A so far "), "\(terminal.stdout)")
                #expect(piped.status == 0, "\(piped.stderr)")
                #expect(!piped.stderr.contains("pair "))
                #expect(piped.stderr.split(separator: "\n").allSatisfy { $0.hasPrefix("warning: ") }, "\(piped.stderr)")
            }
        }
    }
}
