import Foundation
import Testing

/// The lab's long path: `nslab up --delay` joins the namespaces through
/// nettune-delayline. Its accuracy (delay, loss, rate, order), its faults, and
/// the case it exists for — a long fat path where buffer tuning pays.
@Suite(.enabled(if: TestEnvironment.isRoot, TestEnvironment.rootReason))
struct DelayLineIntegrationTests {
    /// `ping -q` summary: sent, received, and the mean RTT in ms.
    struct PingSummary {
        var transmitted: Int
        var received: Int
        var averageMilliseconds: Double?
        var minimumMilliseconds: Double?

        init(_ output: String) throws {
            let counts = try #require(output.split(separator: "\n").first { $0.contains("packets transmitted") })
            let numbers = counts.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
            transmitted = numbers.first ?? 0
            received = numbers.count > 1 ? numbers[1] : 0
            // rtt min/avg/max/mdev = 100.220/100.281/100.430/0.053 ms
            let figures = output.split(separator: "\n").first { $0.hasPrefix("rtt ") }?.split(separator: "=").last?.split(separator: "/")
                .map { Double($0.trimmingCharacters(in: .whitespaces)) }
            minimumMilliseconds = figures?.first ?? nil
            averageMilliseconds = figures.flatMap { $0.count > 1 ? $0[1] : nil }
        }
    }

    private func decode(_ result: CommandResult) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result.stderr)")
    }

    private func largeBuffers(_ lab: Lab, _ max: Int = 64 << 20) throws {
        for ns in [lab.nsA, lab.nsB] {
            try lab.check(in: ns, ["sysctl", "-q", "-w", "net.ipv4.tcp_rmem=4096 131072 \(max)", "net.ipv4.tcp_wmem=4096 16384 \(max)"])
        }
    }

    // MARK: Accuracy

    @Test(arguments: [10, 50, 200])
    func pingRoundTripIsTwiceTheDelay(roundTripMilliseconds: Int) throws {
        try Lab.with(delay: "\(roundTripMilliseconds / 2)ms") { lab in
            // First resolve the neighbour (ARP crosses the line too: a first ping waits
            // for it, 30 ms instead of 10 once in CI), then measure.
            _ = try lab.run(in: lab.nsA, ["ping", "-n", "-q", "-c", "1", "-W", "3", lab.addrB])
            let output = try lab.check(in: lab.nsA, ["ping", "-n", "-q", "-c", "20", "-i", "0.05", "-W", "3", lab.addrB])
            let ping = try PingSummary(output)
            #expect(ping.received == 20, "\(output)")
            let average = try #require(ping.averageMilliseconds, "\(output)")
            let minimum = try #require(ping.minimumMilliseconds, "\(output)")
            let target = Double(roundTripMilliseconds)
            // Never early; the line's own cost (about 0.12 ms each way, more in a
            // debug build) and a shared 2-core machine's scheduling come on top.
            #expect(minimum >= target * 0.99, "\(output)")
            #expect(minimum <= target + max(0.025 * target, 0.5), "\(output)")
            #expect(abs(average - target) <= max(0.05 * target, 1), "\(output)")
        }
    }

    /// 1 % each way: a ping and its reply both survive with probability 0.99².
    /// The count of lost pings must fall in the binomial 99.9 % interval.
    @Test func onePercentLossDropsPingsAtTheBinomialRate() throws {
        try Lab.with(delay: "1ms", loss: "1%", seed: 7) { lab in
            let count = 10_000
            let output = try lab.run(in: lab.nsA, ["ping", "-n", "-q", "-c", String(count), "-i", "0.001", "-W", "1", lab.addrB]).stdout
            let ping = try PingSummary(output)
            #expect(ping.transmitted == count, "\(output)")
            let expected = 1 - 0.99 * 0.99
            let spread = 3.29 * (expected * (1 - expected) / Double(count)).squareRoot()
            let lost = Double(count - ping.received) / Double(count)
            #expect(abs(lost - expected) <= spread, "lost \(lost), expected \(expected) ± \(spread): \(output)")
        }
    }

    /// 1 Gbit/s (tbf on A's TUN device) × 100 ms, with buffers large enough:
    /// the steady state carries the shaped goodput. TUN devices carry IP packets,
    /// so the goodput is rate × MSS / (MSS + 52): no Ethernet header.
    @Test func aLongFatPathCarriesTheShapedRate() throws {
        try Scratch.with { scratch in
            try Lab.with(rateA: "1gbit", delay: "50ms") { lab in
                try largeBuffers(lab)
                let result = try lab.withServer {
                    try lab.nettune(
                        in: lab.nsA,
                        [
                            "probe", "\(lab.addrB):9000", "--time", "8s", "--interval", "1s", "--runs", "1",
                            "--warmup", "0", "--cache-dir", scratch.path, "--json"
                        ])
                }.value
                #expect(result.status == 0, "\(result.stderr)")
                let run = try #require((try decode(result)["runs"] as? [[String: Any]])?.first)
                let tcp = try #require(run["tcp_info"] as? [String: Any])
                let mss = Double(try #require(tcp["snd_mss"] as? Int))
                let minRTT = Double(try #require(tcp["min_rtt_us"] as? Int)) / 1000
                #expect(abs(minRTT - 100) <= 5, "min RTT \(minRTT) ms")
                // Slow start takes the first seconds; judge whole intervals after 3 s.
                let intervals = try #require(run["intervals"] as? [[String: Any]])
                let steady = intervals.filter { ($0["start_s"] as? Double ?? 0) >= 3 && ($0["end_s"] as? Double ?? 0) <= 8 }
                try #require(steady.count >= 3, "\(intervals)")
                let bytes = steady.reduce(0.0) { $0 + Double($1["bytes"] as? Int ?? 0) }
                let seconds = steady.reduce(0.0) { $0 + (($1["end_s"] as? Double ?? 0) - ($1["start_s"] as? Double ?? 0)) }
                let goodput = 1e9 * mss / (mss + 52)
                let share = bytes * 8 / seconds / goodput
                #expect(abs(share - 1) <= 0.05, "steady state \(share * 100) % of \(goodput / 1e6) Mbit/s")
                #expect(tcp["reord_seen"] as? Int == 0, "\(tcp)")
            }
        }
    }

    // MARK: The case where tuning pays

    /// 1 Gbit/s × 100 ms with the kernel's default buffers: one stream is window
    /// bound. The diagnosis says so from the real RTT, recommend sizes buffers to
    /// the BDP, and the A/B says better, with its interval, where the profile acts.
    @Test func onALongFatPathTheDefaultsAreWindowBoundAndTheRecommendationIsBetter() throws {
        try Scratch.with { scratch in
            try Lab.with(rateA: "1gbit", delay: "50ms") { lab in
                _ = try lab.withServer {
                    // 1. The diagnosis, from a window-bound run. Nothing is lost
                    // or reordered on a line that is not full.
                    let probe = try lab.nettune(
                        in: lab.nsA,
                        [
                            "probe", "\(lab.addrB):9000", "--time", "4s", "--runs", "1", "--warmup", "0",
                            "--cache-dir", scratch.path, "--json"
                        ])
                    #expect(probe.status == 0, "\(probe.stderr)")
                    let report = try decode(probe)
                    let diagnosis = try #require(report["diagnosis"] as? [String: Any])
                    let bottleneck = diagnosis["bottleneck"] as? String ?? ""
                    #expect(["send-buffer", "receive-window"].contains(bottleneck), "\(diagnosis)")
                    let bdp = try #require(diagnosis["bdp_bytes"] as? Int)
                    #expect(bdp > 10_000_000 && bdp < 13_500_000, "BDP \(bdp)")
                    #expect((diagnosis["path_rate_bps"] as? Double) == 1e9)
                    #expect((diagnosis["evidence"] as? [String] ?? []).contains { $0.hasPrefix("BDP = min RTT 100") }, "\(diagnosis)")
                    let run = try #require((report["runs"] as? [[String: Any]])?.first)
                    let tcp = try #require(run["tcp_info"] as? [String: Any])
                    #expect(tcp["retransmits_total"] as? Int == 0, "\(tcp)")
                    #expect(tcp["reord_seen"] as? Int == 0, "\(tcp)")
                    #expect((run["throughput_bps"] as? Double ?? 1e9) < 0.6e9)

                    // 2. recommend: buffers that cover the BDP, within the memory caps.
                    let recommend = try lab.nettune(
                        in: lab.nsA,
                        [
                            "recommend", "\(lab.addrB):9000", "--write", "long-path",
                            "--directory", scratch.path, "--cache-dir", scratch.path
                        ])
                    #expect(recommend.status == 0, "\(recommend.stderr)")
                    let profile = try String(contentsOfFile: scratch.path + "/long-path.toml", encoding: .utf8)
                    let wmemMax = try #require(Self.bufferMax(of: "net.ipv4.tcp_wmem", in: profile), "\(profile)")
                    let rmemMax = try #require(Self.bufferMax(of: "net.ipv4.tcp_rmem", in: profile), "\(profile)")
                    #expect(wmemMax >= 2 * bdp && rmemMax >= 2 * bdp, "\(profile)")
                    #expect(wmemMax <= 1 << 30, "\(profile)")

                    // 3. The A/B, in the directions the profile acts on (both).
                    let ab = try lab.nettune(
                        in: lab.nsA,
                        [
                            "apply", "long-path", "--probe", "\(lab.addrB):9000", "--pairs", "3",
                            "--time", "3s", "--warmup", "0", "--revert", "--profiles", scratch.path,
                            "--cache-dir", scratch.path, "--state-dir", scratch.path + "/state", "--json"
                        ])
                    #expect(ab.status == 0, "\(ab.stderr)")
                    let comparisons = try #require(try decode(ab)["comparisons"] as? [String: Any])
                    let send = try #require(comparisons["send"] as? [String: Any], "\(comparisons)")
                    #expect(send["verdict"] as? String == "better", "\(send)")
                    let ci = try #require(send["throughput_ci"] as? [Double])
                    #expect(ci.count == 2 && ci[0] > 1.5, "\(send)")
                    #expect(comparisons["receive"] != nil, "\(comparisons)")
                    // --revert: the defaults are back.
                    #expect(try lab.sysctl(in: lab.nsA, "net/ipv4/tcp_wmem") == "4096 16384 4194304")
                }
            }
        }
    }

    /// 0.5 % random loss at 100 ms with a loss-based congestion control (cubic;
    /// BBR does not back off on random loss): the diagnosis says loss, and larger
    /// buffers are not called better. The A/B moves a fixed 2 MiB per run: a timed
    /// run ends by flushing its send buffer, which at a few Mbit/s takes longer the
    /// larger the buffer.
    @Test func onALossyLongPathTheDiagnosisSaysLossAndBuffersAreNotBetter() throws {
        try Scratch.with { scratch in
            // Only the maxima: the room autotuning may grow into, as the long-path fix does.
            try scratch.write(
                "raise.toml",
                """
                version = 1
                description = "larger buffer maxima only"
                [sysctl]
                net.ipv4.tcp_wmem = "4096 16384 67108864"
                net.ipv4.tcp_rmem = "4096 131072 67108864"
                """)
            try Lab.with(rateA: "1gbit", delay: "50ms", loss: "0.5%") { lab in
                _ = try lab.withServer {
                    let probe = try lab.nettune(
                        in: lab.nsA,
                        [
                            "probe", "\(lab.addrB):9000", "--time", "4s", "--runs", "1", "--warmup", "0",
                            "--congestion", "cubic", "--cache-dir", scratch.path, "--json"
                        ])
                    #expect(probe.status == 0, "\(probe.stderr)")
                    let diagnosis = try #require(try decode(probe)["diagnosis"] as? [String: Any])
                    #expect(diagnosis["bottleneck"] as? String == "loss", "\(diagnosis)")

                    // Each run here takes 2–22 Mbit/s, as a loss does or does not hit
                    // slow start, so even with no real difference a 95 % interval says
                    // "better" in about one comparison of 40 (CI saw B/A 3.2×, interval
                    // 1.42–7.17, once). A second comparison is asked only then: a chance
                    // verdict twice running is about 1 in 1,600, a real bias repeats.
                    var verdicts: [String] = []
                    for _ in 1...2 {
                        let ab = try lab.nettune(
                            in: lab.nsA,
                            [
                                "apply", "raise", "--probe", "\(lab.addrB):9000", "--pairs", "4",
                                "--size", "2MiB", "--warmup", "0", "--direction", "send", "--congestion", "cubic",
                                "--revert", "--profiles", scratch.path, "--cache-dir", scratch.path,
                                "--state-dir", scratch.path + "/state", "--json"
                            ])
                        #expect(ab.status == 0, "\(ab.stderr)")
                        let send = try #require((try decode(ab)["comparisons"] as? [String: Any])?["send"] as? [String: Any])
                        verdicts.append("\(send["verdict"] ?? "none") \(send["throughput_ratio"] ?? "?") \(send["throughput_ci"] ?? "?")")
                        if send["verdict"] as? String != "better" { break }
                    }
                    #expect(verdicts.contains { !$0.hasPrefix("better ") }, "\(verdicts)")
                }
            }
        }
    }

    // MARK: Faults and bad input

    @Test func killingTheLineMidTransferEndsTheProbeWithAClearError() throws {
        try Scratch.with { scratch in
            try Lab.with(delay: "20ms") { lab in
                _ = try lab.withServer {
                    let probe = try Command.start([
                        "ip", "netns", "exec", lab.nsA, TestEnvironment.binary, "probe", "\(lab.addrB):9000",
                        "--time", "60s", "--runs", "1", "--warmup", "0", "--stall-timeout", "2s",
                        "--cache-dir", scratch.path
                    ])
                    // Wait for the data connection, then cut the line.
                    for _ in 0..<200 {
                        if try lab.run(in: lab.nsA, ["ss", "-Htn", "state", "established", "dport = :9000"]).stdout
                            .split(separator: "\n").count >= 2
                        {
                            break
                        }
                        Thread.sleep(forTimeInterval: 0.05)
                    }
                    let pid = try String(contentsOfFile: "/run/nslab/\(lab.id).pid", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
                    let started = Date()
                    #expect(kill(try #require(Int32(pid)), SIGKILL) == 0)
                    let result = try probe.wait()
                    #expect(result.status != 0)
                    #expect(Date().timeIntervalSince(started) < 15, "the probe hung")
                    let lines = result.stderr.split(separator: "\n").filter { !$0.isEmpty }
                    #expect(lines.count == 1 && lines[0].contains("nothing moved for 2 s"), "\(result.stderr)")
                }
            }
        }
    }

    @Test(arguments: [
        ["--delay", "11s"], ["--delay", "-5ms"], ["--delay", "50"], ["--delay", "50ms", "--loss", "101%"],
        ["--delay", "50ms", "--loss", "-1%"], ["--loss", "1%"]
    ])
    func badLabValuesAreOneLineErrorsAndLeaveNothing(arguments: [String]) throws {
        let id = "ntdlbad\(UInt32.random(in: 0..<100_000))"
        let result = try Command.run([TestEnvironment.labScript, "up", "--id", id] + arguments, environment: TestEnvironment.labEnvironment)
        #expect(result.status != 0)
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        #expect(result.stderr.hasPrefix("nslab: "), "\(result.stderr)")
        #expect(!(try Command.check(["ip", "netns", "list"])).contains(id))
        #expect(!FileManager.default.fileExists(atPath: "/run/nslab/\(id).pid"))
    }

    @Test func theLineRefusesBadValuesAndTheHostNamespace() throws {
        let line = TestEnvironment.delayLine
        let base = ["--device-a", "x0", "--device-b", "x1"]
        for (arguments, message) in [
            (["--netns-a", "a", "--netns-b", "b", "--delay", "20s"] + base, "outside 0 to 10 s"),
            (["--netns-a", "a", "--netns-b", "b", "--delay", "5ms", "--loss", "200%"] + base, "percentage from 0 to 100"),
            (["--netns-a", "a", "--netns-b", "a", "--delay", "5ms"] + base, "two different namespaces"),
            (["--netns-a", "nonexistent-ns-\(getpid())", "--netns-b", "b", "--delay", "5ms"] + base, "no network namespace at")
        ] {
            let result = try Command.run([line] + arguments)
            #expect(result.status != 0)
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
        // A namespace that is this process's own (the host's, here) is refused
        // before any device is made.
        try Lab.with { lab in
            let scratchName = "ntdlhost\(getpid())"
            try Command.check(["touch", "/run/netns/\(scratchName)"])
            defer {
                _ = try? Command.run(["umount", "/run/netns/\(scratchName)"])
                try? FileManager.default.removeItem(atPath: "/run/netns/\(scratchName)")
            }
            try Command.check(["mount", "--bind", "/proc/self/ns/net", "/run/netns/\(scratchName)"])
            let result = try Command.run([line, "--netns-a", scratchName, "--netns-b", lab.nsB, "--delay", "5ms"] + base)
            #expect(result.status != 0)
            #expect(result.stderr.contains("only creates devices inside lab namespaces"), "\(result.stderr)")
        }
    }

    /// Without /dev/net/tun (hidden here by an empty /dev/net in a private mount
    /// namespace) the line says what to do and creates nothing.
    @Test func noTunDriverIsAOneLineError() throws {
        try Lab.with { lab in
            let result = try Command.run([
                "unshare", "--mount", "--propagation", "private", "sh", "-c",
                "mount -t tmpfs none /dev/net && exec \"$0\" \"$@\"", TestEnvironment.delayLine,
                "--netns-a", lab.nsA, "--netns-b", lab.nsB, "--device-a", "x0", "--device-b", "x1", "--delay", "5ms"
            ])
            #expect(result.status != 0)
            #expect(result.stderr.contains("no /dev/net/tun") && result.stderr.contains("modprobe tun"), "\(result.stderr)")
            #expect(!(try lab.check(in: lab.nsA, ["ip", "-o", "link"])).contains("x0"))
        }
    }

    /// The lab's namespaces deleted under a running line (not through nslab
    /// down): the line notices and exits, and nothing stays behind — its log
    /// included, which `down` used to leave once the line had gone by itself.
    @Test func theLineExitsWhenItsLabIsDeleted() throws {
        var id = ""
        defer { #expect(!id.isEmpty && !FileManager.default.fileExists(atPath: "/run/nslab/\(id).log"), "\(id)") }
        try Lab.with(delay: "5ms") { lab in
            id = lab.id
            let pid = try #require(
                Int32(
                    try String(contentsOfFile: "/run/nslab/\(lab.id).pid", encoding: .utf8)
                        .trimmingCharacters(in: .whitespacesAndNewlines)))
            #expect(Self.isRunning(pid))
            try Command.check(["ip", "netns", "del", lab.nsA])
            var alive = true
            for _ in 0..<100 where alive {
                Thread.sleep(forTimeInterval: 0.05)
                alive = Self.isRunning(pid)
            }
            #expect(!alive, "the delay line outlived its lab")
        }
    }

    /// Alive and not a zombie waiting for a parent that may never reap it.
    static func isRunning(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first
        return state != "Z" && state != "X"
    }

    static func bufferMax(of key: String, in profile: String) -> Int? {
        profile.split(separator: "\n").first { $0.hasPrefix(key + " ") }
            .flatMap { $0.split(separator: "\"").dropFirst().first }
            .flatMap { $0.split(separator: " ").last.flatMap { Int($0) } }
    }
}
