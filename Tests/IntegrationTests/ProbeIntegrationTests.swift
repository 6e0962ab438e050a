import Foundation
import Testing

/// `nettune serve` in one lab namespace, `nettune probe` from the other; assertions
/// against the server's own count, the veth's byte counters and the kernel.
@Suite(.enabled(if: TestEnvironment.isRoot, TestEnvironment.rootReason))
struct ProbeIntegrationTests {
    static let port = Lab.probePort

    private func probe(_ lab: Lab, _ scratch: Scratch, _ arguments: [String]) throws -> CommandResult {
        try lab.nettune(in: lab.nsA, ["probe", "\(lab.addrB):\(Self.port)", "--cache-dir", scratch.path, "--warmup", "0"] + arguments)
    }

    private func decode(_ result: CommandResult) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result.stderr)")
    }

    /// The veth's transmit counters: bytes and packets (GSO packets count once).
    private func txCounters(_ lab: Lab) throws -> (bytes: Int, packets: Int) {
        let json = try lab.check(in: lab.nsA, ["ip", "-s", "-j", "link", "show", "dev", lab.ifA])
        let link = try #require((try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])?.first)
        let stats = try #require(link["stats64"] as? [String: Any])
        let tx = try #require(stats["tx"] as? [String: Any])
        return (try #require(tx["bytes"] as? Int), try #require(tx["packets"] as? Int))
    }

    @Test func countsEveryByteAndFillsTCPInfo() throws {
        try Scratch.with { scratch in
            try Lab.with { lab in
                let size = 64 << 20
                let (result, log) = try lab.withServer {
                    let before = try txCounters(lab)
                    let result = try probe(lab, scratch, ["--size", "64MiB", "--runs", "1", "--json"])
                    let after = try txCounters(lab)
                    return (result, (after.bytes - before.bytes, after.packets - before.packets))
                }
                #expect(result.0.status == 0, "\(result.0.stderr)")
                let report = try decode(result.0)
                let run = try #require((report["runs"] as? [[String: Any]])?.first)
                // The server's own count, as logged by the server.
                let served = try #require(log.first { $0["outcome"] as? String == "completed" })
                #expect(served["bytes"] as? Int == size)
                #expect(run["bytes"] as? Int == size)
                // The veth carried the payload plus one set of Ethernet/IP/TCP headers
                // (14 + 20 + 32 bytes) per packet it counted, plus what TCP resent.
                let tcp = try #require(run["tcp_info"] as? [String: Any])
                let resent = try #require(tcp["bytes_retrans"] as? Int)
                let carried = result.1.0
                #expect(carried >= size)
                let payloadOnWire = Double(carried - result.1.1 * 66 - resent)
                #expect(
                    abs(payloadOnWire - Double(size)) / Double(size) < 0.03,
                    "payload \(size) vs \(carried) bytes in \(result.1.1) packets on the veth, \(resent) resent")
                // Throughput is bytes over the reported window.
                let seconds = try #require(run["seconds"] as? Double)
                let throughput = try #require(run["throughput_bps"] as? Double)
                #expect(abs(throughput - Double(size) * 8 / seconds) / throughput < 1e-9)
                #expect((tcp["snd_mss"] as? Int ?? 0) > 1000)
                #expect(tcp["pmtu"] as? Int == 1500)
                #expect((tcp["rtt_us"] as? Int ?? 0) > 0)
                #expect((tcp["snd_cwnd"] as? Int ?? 0) > 0)
                #expect((tcp["busy_us"] as? Int ?? 0) > 0)
                #expect(tcp["rwnd_limited_us"] is Int)
                #expect(tcp["sndbuf_limited_us"] is Int)
                #expect(report["mtu"] as? Int == 1500)
                #expect(report["egress_interface"] as? String == lab.ifA)
                #expect((report["kernel"] as? String)?.isEmpty == false)
                #expect(run["congestion"] as? String != nil)
                let sender = try #require(run["sender"] as? [String: Any])
                #expect((sender["cpu_sys_s"] as? Double ?? 0) > 0)
                // The host's figures are /proc/stat's 10 ms ticks: a 64 MiB run lasts about
                // that long, so its busy time may round to 0 (CI saw it), never past the total.
                let busy = try #require(sender["host_busy_s"] as? Double)
                let total = try #require(sender["host_total_s"] as? Double)
                #expect(busy >= 0 && busy <= total, "busy \(busy) of \(total) s")
            }
        }
    }

    /// Under tbf 100 Mbit/s the goodput is the rate × MSS / (MSS + 66): 95.6 Mbit/s.
    @Test func aShapedLinkGivesItsTheoreticalGoodput() throws {
        try Scratch.with { scratch in
            try Lab.with(rateA: "100mbit") { lab in
                let (result, _) = try lab.withServer {
                    try probe(lab, scratch, ["--size", "16MiB", "--runs", "1", "--interval", "0.5s", "--json"])
                }
                #expect(result.status == 0, "\(result.stderr)")
                let run = try #require((try decode(result)["runs"] as? [[String: Any]])?.first)
                let throughput = try #require(run["throughput_bps"] as? Double)
                let goodput = 100e6 * 1448 / (1448 + 66)
                #expect(abs(throughput - goodput) / goodput < 0.05, "\(throughput / 1e6) Mbit/s vs \(goodput / 1e6)")
                let intervals = try #require(run["intervals"] as? [[String: Any]])
                #expect(intervals.count >= 2)
                let total = intervals.compactMap { $0["bytes"] as? Int }.reduce(0, +)
                #expect(abs(total - (16 << 20)) < 64 << 10, "interval bytes add up to the payload")
            }
        }
    }

    /// A receiver that gathers 128 KiB before it wakes (`LowWater`) still reports
    /// what arrived in each interval: at 10 Mbit/s a quarter second carries about
    /// 300 KB, so intervals of what had been read would be off by up to 40 %.
    @Test func reverseIntervalsCountWhatArrivedWhileTheReceiverGathers() throws {
        try Scratch.with { scratch in
            try Lab.with(rateB: "10mbit") { lab in
                // A receive buffer large from the start, so the mark is 128 KiB at once.
                try lab.check(in: lab.nsA, ["sysctl", "-q", "-w", "net.ipv4.tcp_rmem=4096 1048576 6291456"])
                let (result, _) = try lab.withServer {
                    try probe(lab, scratch, ["-R", "--time", "3s", "--runs", "1", "--interval", "0.25s", "--json"])
                }
                #expect(result.status == 0, "\(result.stderr)")
                let run = try #require((try decode(result)["runs"] as? [[String: Any]])?.first)
                let intervals = try #require(run["intervals"] as? [[String: Any]])
                #expect(intervals.count >= 10)
                let goodput = 10e6 * 1448 / (1448 + 66) / 8
                // From 2 s on: in slow start the shaper idles now and then and saves
                // tokens it spends later as a burst; the last interval is partial.
                for interval in intervals.dropLast() where (interval["start_s"] as? Double ?? 0) >= 2 {
                    let bytes = try #require(interval["bytes"] as? Double)
                    let seconds = try #require(interval["end_s"] as? Double) - (try #require(interval["start_s"] as? Double))
                    #expect(abs(bytes / seconds - goodput) / goodput < 0.1, "\(interval)")
                }
                let total = intervals.compactMap { $0["bytes"] as? Double }.reduce(0, +)
                #expect(total == run["bytes"] as? Double, "interval bytes add up to the run's")
            }
        }
    }

    /// A timed run lasts about its time on a slow link, in both directions: the
    /// sender's calls and its unsent bytes follow the acknowledged rate
    /// (`SendChunk`). With 4 MiB calls and a full socket buffer a 2 s run at
    /// 10 Mbit/s lasted about 6 s. (BBR's retransmission timeouts made 6 of 70 runs
    /// last 3.1–3.3 s until the lab stopped sending GSO lumps through its shaper.)
    @Test func aTimedRunOnASlowLinkEndsNearItsTime() throws {
        try Scratch.with { scratch in
            try Lab.with(rateA: "10mbit", rateB: "10mbit") { lab in
                let (results, _) = try lab.withServer {
                    try [[], ["-R"]].map { try probe(lab, scratch, $0 + ["--time", "2s", "--runs", "1", "--json"]) }
                }
                for result in results {
                    #expect(result.status == 0, "\(result.stderr)")
                    let run = try #require((try decode(result)["runs"] as? [[String: Any]])?.first)
                    let seconds = try #require(run["seconds"] as? Double)
                    // What is in flight and in the shaper's queue (50 ms and a 64 KiB
                    // bucket) still has to cross, and a lost last segment waits for its
                    // retransmission.
                    #expect(seconds >= 2 && seconds < 3, "\(run["direction"] ?? "?"): \(seconds) s")
                    let bps = try #require(run["throughput_bps"] as? Double)
                    #expect(bps > 8e6 && bps < 10e6 * 1.05, "\(bps)")
                }
            }
        }
    }

    @Test func hostileClientsAreRefusedAndTheNextProbeSucceeds() throws {
        try Scratch.with { scratch in
            try Lab.with { lab in
                let (results, log) = try lab.withServer(["--max-bytes", "1MiB", "--idle-timeout", "1s"]) {
                    // Garbage: an HTTP request.
                    let garbage = try lab.run(
                        in: lab.nsA,
                        [
                            "bash", "-c",
                            "exec 3<>/dev/tcp/\(lab.addrB)/\(Self.port); printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3; head -c 4 <&3"
                        ])
                    // A size over --max-bytes.
                    let oversize = try probe(lab, scratch, ["--size", "2MiB", "--runs", "1"])
                    // A client that connects and says nothing.
                    let stall = try lab.run(
                        in: lab.nsA,
                        [
                            "bash", "-c",
                            "exec 3<>/dev/tcp/\(lab.addrB)/\(Self.port); sleep 2; head -c 4 <&3"
                        ])
                    // A client killed in the middle of its transfer.
                    let killed = try Command.start([
                        "ip", "netns", "exec", lab.nsA, TestEnvironment.binary, "probe",
                        "\(lab.addrB):\(Self.port)", "--cache-dir", scratch.path, "--warmup", "0",
                        "--size", "1MiB", "--time", "20s", "--runs", "1"
                    ])
                    Thread.sleep(forTimeInterval: 0.5)
                    killed.kill()
                    _ = try killed.wait()
                    Thread.sleep(forTimeInterval: 0.2)
                    let after = try probe(lab, scratch, ["--size", "512KiB", "--runs", "1"])
                    // A timed probe declares no size: --max-bytes does not cut it
                    // (--max-duration bounds it), as for iperf3's -t.
                    let timed = try probe(lab, scratch, ["--time", "1s", "--runs", "1", "-P", "2", "--json"])
                    #expect(timed.status == 0, "\(timed.stderr)")
                    let moved = try #require((try decode(timed)["runs"] as? [[String: Any]])?.first?["bytes"] as? Int)
                    #expect(moved > 4 << 20, "\(moved) bytes in a timed second")
                    return (garbage, oversize, stall, after)
                }
                #expect(results.0.stdout == "NTP2", "the garbage client gets a probe reply, not silence")
                #expect(results.1.status != 0)
                #expect(results.1.stderr.contains("refused the probe: a transfer of 2 MiB is more than this server accepts (its limit is 1 MiB)"))
                #expect(results.2.status == 0)
                #expect(results.3.status == 0, "\(results.3.stderr)")
                let outcomes = log.map { "\($0["outcome"] ?? "?"): \($0["message"] ?? "")" }
                // Said once, with the reason and what the client sent instead.
                #expect(
                    log.contains {
                        ($0["message"] as? String)
                            == #"not a nettune probe: bad magic (the message does not start with "NTP2"); it sent "GET / HTTP/1.0""#
                    }, "\(outcomes)")
                #expect(!outcomes.contains { $0.components(separatedBy: "not a nettune probe").count > 2 }, "\(outcomes)")
                #expect(log.contains { ($0["message"] as? String)?.contains("no probe request within") == true }, "\(outcomes)")
                #expect(log.contains { $0["outcome"] as? String == "failed" && $0["method"] as? String == "sendfile" }, "\(outcomes)")
                #expect(log.last?["outcome"] as? String == "completed")
            }
        }
    }

    /// With the queue switched off (`--queue 0`), a second client is told "busy".
    @Test func aSecondClientIsToldBusyAndTheFirstIsUnaffected() throws {
        try Scratch.with { scratch in
            try Lab.with(rateA: "100mbit") { lab in
                let (results, _) = try lab.withServer(["--queue", "0"]) {
                    let first = try Command.start([
                        "ip", "netns", "exec", lab.nsA, TestEnvironment.binary, "probe",
                        "\(lab.addrB):\(Self.port)", "--cache-dir", scratch.path, "--warmup", "0",
                        "--size", "1MiB", "--time", "2s", "--runs", "1", "--json"
                    ])
                    Thread.sleep(forTimeInterval: 0.7)
                    let second = try probe(lab, scratch, ["--size", "1MiB", "--runs", "1"])
                    return (try first.wait(), second)
                }
                #expect(results.1.status != 0)
                #expect(results.1.stderr.contains("busy"))
                #expect(results.0.status == 0, "\(results.0.stderr)")
                let run = try #require((try decode(results.0)["runs"] as? [[String: Any]])?.first)
                #expect((run["throughput_bps"] as? Double ?? 0) > 90e6)
            }
        }
    }

    @Test func aTokenIsRequiredWhenTheServerHasOne() throws {
        try Scratch.with { scratch in
            try Lab.with { lab in
                let (results, _) = try lab.withServer(["--token", "pi-secret"]) {
                    (
                        try probe(lab, scratch, ["--size", "1MiB", "--runs", "1"]),
                        try probe(lab, scratch, ["--size", "1MiB", "--runs", "1", "--token", "wrong"]),
                        try probe(lab, scratch, ["--size", "1MiB", "--runs", "1", "--token", "pi-secret"])
                    )
                }
                #expect(results.0.status != 0)
                #expect(results.0.stderr.contains("token was not accepted"))
                #expect(results.1.status != 0)
                #expect(results.2.status == 0, "\(results.2.stderr)")
            }
        }
    }

    /// A listener opened before a tcp_rmem change would hide it; serve opens a fresh
    /// data listener per probe, so the next probe shows the new setting.
    @Test func aTcpRmemChangeOnTheServerShowsInTheNextProbe() throws {
        try Scratch.with { scratch in
            try Lab.with { lab in
                let (results, _) = try lab.withServer {
                    let before = try probe(lab, scratch, ["--size", "8MiB", "--runs", "1", "--json"])
                    try lab.check(in: lab.nsB, ["sysctl", "-q", "-w", "net.ipv4.tcp_rmem=4096 4096 4096"])
                    let after = try probe(lab, scratch, ["--size", "8MiB", "--runs", "1", "--json"])
                    return (before, after)
                }
                let before = try #require((try decode(results.0)["runs"] as? [[String: Any]])?.first)
                let after = try #require((try decode(results.1)["runs"] as? [[String: Any]])?.first)
                #expect(before["rcvbuf_bytes"] as? Int == 131072)
                #expect(after["rcvbuf_bytes"] as? Int == 4096)
                let tcp = try #require(after["tcp_info"] as? [String: Any])
                #expect((tcp["rwnd_limited_us"] as? Int ?? 0) > 0, "a 4 KiB receive buffer limits the window")
                #expect((after["throughput_bps"] as? Double ?? 0) < (before["throughput_bps"] as? Double ?? 0) / 2)
            }
        }
    }

    @Test func aOneKiBReadWriteLoopCostsMoreSenderCPUThanSendfile() throws {
        try Scratch.with { scratch in
            try Lab.with { lab in
                let (result, _) = try lab.withServer {
                    try probe(
                        lab, scratch,
                        [
                            "--size", "64MiB", "--runs", "3", "--methods", "sendfile,readwrite",
                            "--buffer", "1KiB", "--json"
                        ])
                }
                #expect(result.status == 0, "\(result.stderr)")
                let methods = try #require(try decode(result)["methods"] as? [String: [String: Double]])
                let sendfile = try #require(methods["sendfile"]?["sender_cpu_s_per_gib_median"])
                let readwrite = try #require(methods["readwrite"]?["sender_cpu_s_per_gib_median"])
                #expect(readwrite > sendfile * 1.5, "readwrite 1 KiB \(readwrite) s/GiB vs sendfile \(sendfile) s/GiB")
            }
        }
    }

    @Test func aServerThatDiesMidTransferIsReportedAndSetsTheExitStatus() throws {
        try Scratch.with { scratch in
            try Lab.with { lab in
                let server = try Command.start(["ip", "netns", "exec", lab.nsB, TestEnvironment.binary, "serve", "--port", Self.port])
                Thread.sleep(forTimeInterval: 0.5)
                let client = try Command.start([
                    "ip", "netns", "exec", lab.nsA, TestEnvironment.binary, "probe",
                    "\(lab.addrB):\(Self.port)", "--cache-dir", scratch.path, "--warmup", "0",
                    "--size", "1MiB", "--time", "20s", "--runs", "1", "--congestion", "reno"
                ])
                Thread.sleep(forTimeInterval: 1)
                server.kill()
                _ = try? server.wait()
                let result = try client.wait()
                #expect(result.status != 0)
                #expect(result.stderr.contains("closed the connection"), "\(result.stderr)")
            }
        }
    }

    @Test func perSocketCongestionControlIsUsedAndRecorded() throws {
        try Scratch.with { scratch in
            try Lab.with { lab in
                let (result, _) = try lab.withServer {
                    try probe(lab, scratch, ["--size", "4MiB", "--runs", "1", "--congestion", "reno", "--json"])
                }
                #expect(result.status == 0, "\(result.stderr)")
                let run = try #require((try decode(result)["runs"] as? [[String: Any]])?.first)
                #expect(run["congestion"] as? String == "reno")
                let bad = try probe(lab, scratch, ["--size", "1MiB", "--runs", "1", "--congestion", "nosuch"])
                #expect(bad.status != 0)
            }
        }
    }

    /// Every sender against every way of draining: the server counts every byte.
    @Test(arguments: ["trunc", "splice", "recv"])
    func everyMethodAndDrainMovesTheWholePayload(drain: String) throws {
        try Scratch.with { scratch in
            try Lab.with { lab in
                let (result, log) = try lab.withServer(["--drain", drain]) {
                    try probe(
                        lab, scratch,
                        [
                            "--size", "12MiB", "--runs", "1", "--methods", "sendfile,splice,readwrite",
                            "--buffer", "64KiB", "--json"
                        ])
                }
                #expect(result.status == 0, "\(result.stderr)")
                let runs = try #require(try decode(result)["runs"] as? [[String: Any]])
                #expect(runs.compactMap { $0["method"] as? String } == ["sendfile", "splice", "readwrite"])
                #expect(runs.allSatisfy { $0["bytes"] as? Int == 12 << 20 })
                let completed = log.filter { $0["outcome"] as? String == "completed" }
                #expect(completed.count == 3)
                #expect(completed.allSatisfy { $0["bytes"] as? Int == 12 << 20 })
            }
        }
    }

    @Test func clearErrorsForUnusableTargetsAndFiles() throws {
        try Scratch.with { scratch in
            try Lab.with { lab in
                let refused = try probe(lab, scratch, ["--size", "1MiB", "--runs", "1"])
                #expect(refused.status != 0)
                #expect(refused.stderr.contains("refused the connection"))
                #expect(refused.stdout.isEmpty)
                // Asked for JSON, the failure is JSON on stdout too (iperf3 -J does the same).
                let refusedJSON = try probe(lab, scratch, ["--size", "1MiB", "--runs", "1", "--json"])
                #expect(refusedJSON.status == 1)
                let failure = try decode(refusedJSON)
                #expect((failure["error"] as? String)?.contains("refused the connection") == true, "\(failure)")
                #expect(failure["exit_status"] as? Int == 1)
                #expect(refusedJSON.stderr.contains("refused the connection"))
                let refusedStream = try probe(lab, scratch, ["--size", "1MiB", "--runs", "1", "--json-stream"])
                let line = try #require(try JSONSerialization.jsonObject(with: Data(refusedStream.stdout.utf8)) as? [String: Any])
                #expect(line["type"] as? String == "error")
                #expect((line["error"] as? String)?.contains("refused the connection") == true)
                let directory = try probe(lab, scratch, ["--file", "/tmp", "--runs", "1"])
                #expect(directory.status != 0)
                #expect(directory.stderr.contains("cannot send /tmp: not a regular file"))
                let missing = try probe(lab, scratch, ["--file", scratch.path + "/nope.bin"])
                #expect(missing.status != 0)
                #expect(missing.stderr.contains("nope.bin"))
                let badSize = try probe(lab, scratch, ["--size", "12XB"])
                #expect(badSize.status != 0)
                // An address on the lab's subnet that nobody holds: ARP fails.
                let prefix = lab.addrB.split(separator: ".").dropLast().joined(separator: ".")
                let unreachable = try lab.nettune(
                    in: lab.nsA,
                    [
                        "probe", "\(prefix).99:9000", "--size", "1MiB", "--warmup", "0",
                        "--runs", "1", "--cache-dir", scratch.path
                    ])
                #expect(unreachable.status != 0)
                #expect(unreachable.stderr.contains("unreachable") || unreachable.stderr.contains("did not answer"), "\(unreachable.stderr)")
            }
        }
    }
}
