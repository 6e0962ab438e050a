import Testing

@testable import NetTune
@testable import NetTuneCommands

@Suite struct ProbeOutputTests {
    func report(methods: [ProbeMethod] = [.sendfile]) -> ProbeReport {
        let cpu = CPUUsage(userSeconds: 0.25, systemSeconds: 0.5, hostBusySeconds: 1.5, hostSoftirqSeconds: 0.75, hostTotalSeconds: 4)
        var bytes = [UInt8](repeating: 0, count: 232)
        bytes[0] = 1
        bytes[16] = 0xA8
        bytes[17] = 0x05  // snd_mss 1448
        bytes[60] = 0xDC
        bytes[61] = 0x05  // pmtu 1500
        bytes[68] = 100  // rtt 100 µs
        bytes[80] = 10  // cwnd 10
        bytes[100] = 2  // retransmits 2
        bytes[148] = 20  // min rtt 20 µs
        bytes[168] = 0x40
        bytes[169] = 0x42
        bytes[170] = 0x0F  // busy 1000000 µs
        bytes[176] = 0x20
        bytes[177] = 0xA1
        bytes[178] = 0x07  // rwnd limited 500000 µs
        let info = TCPInfo(kernelBytes: bytes)
        let run = RunResult(
            method: .sendfile, bytes: 1 << 30, seconds: 2, sender: cpu, receiver: cpu,
            tcpInfo: info,
            streams: [
                StreamResult(
                    index: 0, bytes: 1 << 30, seconds: 2, tcpInfo: info, sendBufferBytes: 4_194_304,
                    receiveBufferBytes: 131072)
            ],
            intervals: [
                Interval(start: 0, end: 1, bytes: 1 << 29, retransmits: 3, congestionWindowBytes: 1 << 20, rttMicroseconds: 250),
                Interval(start: 1, end: 2, bytes: 1 << 29)
            ],
            congestion: "bbr", sendBufferBytes: 4_194_304, receiveBufferBytes: 131072)
        var second = run
        second.method = .readwrite
        return ProbeReport(
            peer: Endpoint(host: "10.0.0.2", port: 9000), methods: methods, payloadBytes: 1 << 30,
            payloadPath: "/cache/payload.bin", kernel: "6.18.0", congestion: "bbr",
            egressInterface: "eth0", mtu: 1500, runs: methods.count > 1 ? [run, second] : [run],
            local: TuningState(
                tcpWmem: "4096 16384 4194304", tcpRmem: "4096 131072 6291456", congestion: "bbr",
                mtu: 1500, interface: "eth0", kernel: "6.18.0", version: "0.1.0"),
            remote: TuningState(
                tcpWmem: "4096 16384 4194304", tcpRmem: "4096 131072 6291456", wmemMax: 212992,
                rmemMax: 212992, congestion: "bbr", mtu: 1500, interface: "eth0", kernel: "6.18.0",
                version: "0.1.0"))
    }

    /// The README documents this shape.
    @Test func jsonShapeIsPinned() throws {
        var report = report()
        report.payloadCache = PayloadCacheLoad(bytes: 1 << 30, residentBefore: nil, residentAfter: 1 << 30, seconds: 2.5)
        #expect(
            try JSONOutput.encode(ProbeJSON(report, multipleMethods: false)) == """
                {
                  "baseline" : null,
                  "bytes" : 1073741824,
                  "congestion" : "bbr",
                  "diagnosis" : {
                    "advice" : "The receiving process (the server) did not read fast enough: its window filled although tcp_rmem lets it grow to 6 MiB. A faster receiver, or fewer streams, helps; buffers do not.",
                    "bdp_bytes" : 10737,
                    "bottleneck" : "receiver-cpu",
                    "evidence" : [
                      "BDP = min RTT 20 µs × 4.29 Gbit/s (measured) = 10.5 KiB",
                      "limited by the receive window 50 % and the send buffer 0 % of busy time; busy 50 % of the transfer (this machine's TCP_INFO)",
                      "tcp_rmem max 6 MiB on the server, far above the BDP"
                    ],
                    "path_rate_bps" : null
                  },
                  "direction" : "send",
                  "directions" : {
                    "send" : {
                      "diagnosis" : {
                        "advice" : "The receiving process (the server) did not read fast enough: its window filled although tcp_rmem lets it grow to 6 MiB. A faster receiver, or fewer streams, helps; buffers do not.",
                        "bdp_bytes" : 10737,
                        "bottleneck" : "receiver-cpu",
                        "evidence" : [
                          "BDP = min RTT 20 µs × 4.29 Gbit/s (measured) = 10.5 KiB",
                          "limited by the receive window 50 % and the send buffer 0 % of busy time; busy 50 % of the transfer (this machine's TCP_INFO)",
                          "tcp_rmem max 6 MiB on the server, far above the BDP"
                        ],
                        "path_rate_bps" : null
                      },
                      "summary" : {
                        "receiver_cpu_s_per_gib_median" : 0.75,
                        "sender_cpu_s_per_gib_median" : 0.75,
                        "throughput_bps_median" : 4294967296
                      }
                    }
                  },
                  "egress_interface" : "eth0",
                  "file" : "/cache/payload.bin",
                  "kernel" : "6.18.0",
                  "local" : {
                    "congestion" : "bbr",
                    "default_qdisc" : null,
                    "interface" : "eth0",
                    "kernel" : "6.18.0",
                    "link_speed_bps" : null,
                    "mtu" : 1500,
                    "qdisc" : null,
                    "rmem_max" : null,
                    "shaping_rate_bps" : null,
                    "tcp_rmem" : "4096 131072 6291456",
                    "tcp_wmem" : "4096 16384 4194304",
                    "version" : "0.1.0",
                    "wmem_max" : null
                  },
                  "method" : "sendfile",
                  "mtu" : 1500,
                  "payload_cache" : {
                    "bytes" : 1073741824,
                    "read_s" : 2.5,
                    "resident_after_bytes" : 1073741824,
                    "resident_before_bytes" : null
                  },
                  "peer" : "10.0.0.2:9000",
                  "peer_payload_cache" : null,
                  "protocol" : "nettune",
                  "remote" : {
                    "congestion" : "bbr",
                    "default_qdisc" : null,
                    "interface" : "eth0",
                    "kernel" : "6.18.0",
                    "link_speed_bps" : null,
                    "mtu" : 1500,
                    "qdisc" : null,
                    "rmem_max" : 212992,
                    "shaping_rate_bps" : null,
                    "tcp_rmem" : "4096 131072 6291456",
                    "tcp_wmem" : "4096 16384 4194304",
                    "version" : "0.1.0",
                    "wmem_max" : 212992
                  },
                  "runs" : [
                    {
                      "bytes" : 1073741824,
                      "congestion" : "bbr",
                      "direction" : "send",
                      "fairness" : null,
                      "intervals" : [
                        {
                          "bytes" : 536870912,
                          "end_s" : 1,
                          "retransmits" : 3,
                          "rtt_us" : 250,
                          "snd_cwnd_bytes" : 1048576,
                          "start_s" : 0,
                          "throughput_bps" : 4294967296
                        },
                        {
                          "bytes" : 536870912,
                          "end_s" : 2,
                          "retransmits" : null,
                          "rtt_us" : null,
                          "snd_cwnd_bytes" : null,
                          "start_s" : 1,
                          "throughput_bps" : 4294967296
                        }
                      ],
                      "method" : "sendfile",
                      "rcvbuf_bytes" : 131072,
                      "receiver" : {
                        "cpu_sys_s" : 0.5,
                        "cpu_user_s" : 0.25,
                        "host_busy_s" : 1.5,
                        "host_softirq_s" : 0.75,
                        "host_total_s" : 4
                      },
                      "retransmits" : 2,
                      "seconds" : 2,
                      "sender" : {
                        "cpu_sys_s" : 0.5,
                        "cpu_user_s" : 0.25,
                        "host_busy_s" : 1.5,
                        "host_softirq_s" : 0.75,
                        "host_total_s" : 4
                      },
                      "sndbuf_bytes" : 4194304,
                      "streams" : [
                        {
                          "bytes" : 1073741824,
                          "index" : 0,
                          "rcvbuf_bytes" : 131072,
                          "seconds" : 2,
                          "sndbuf_bytes" : 4194304,
                          "tcp_info" : {
                            "busy_us" : 1000000,
                            "bytes_retrans" : 0,
                            "delivery_rate_bps" : 0,
                            "min_rtt_us" : 20,
                            "pmtu" : 1500,
                            "reord_seen" : 0,
                            "retransmits_total" : 2,
                            "rtt_us" : 100,
                            "rwnd_limited_us" : 500000,
                            "snd_cwnd" : 10,
                            "snd_mss" : 1448,
                            "sndbuf_limited_us" : 0
                          },
                          "throughput_bps" : 4294967296
                        }
                      ],
                      "tcp_info" : {
                        "busy_us" : 1000000,
                        "bytes_retrans" : 0,
                        "delivery_rate_bps" : 0,
                        "min_rtt_us" : 20,
                        "pmtu" : 1500,
                        "reord_seen" : 0,
                        "retransmits_total" : 2,
                        "rtt_us" : 100,
                        "rwnd_limited_us" : 500000,
                        "snd_cwnd" : 10,
                        "snd_mss" : 1448,
                        "sndbuf_limited_us" : 0
                      },
                      "tcp_info_from" : "local",
                      "throughput_bps" : 4294967296
                    }
                  ],
                  "streams" : 1,
                  "summary" : {
                    "receiver_cpu_s_per_gib_median" : 0.75,
                    "sender_cpu_s_per_gib_median" : 0.75,
                    "throughput_bps_median" : 4294967296
                  },
                  "tuning_changed" : []
                }
                """)
    }

    @Test func multipleMethodsAddAPerMethodSummary() throws {
        let json = try JSONOutput.encode(ProbeJSON(report(methods: [.sendfile, .readwrite]), multipleMethods: true))
        #expect(json.contains(#""method" : "sendfile,readwrite""#))
        #expect(json.contains(#""methods" : {"#))
        #expect(json.contains(#""readwrite" : {"#))
    }

    @Test func tableShowsMediansCPUAndLimits() {
        let text = ProbeTable.render(report(methods: [.sendfile, .readwrite]))
        #expect(text.contains("Probe to 10.0.0.2:9000: sending, 1 GiB from /cache/payload.bin"))
        #expect(text.contains("Linux 6.18.0, congestion bbr, egress eth0 (MTU 1500)"))
        #expect(text.contains("4.29 Gbit/s  537 MB/s"))
        #expect(text.contains("38 % of a core, 0.750 s/GiB"))
        #expect(text.contains("rwnd 50 %, sndbuf 0 % of busy time"))
        #expect(text.contains("per interval (run at the median): ██"))
    }

    /// The machine's busy share: known and counted, known but every run inside one
    /// /proc/stat tick, or not known at all (an iperf3 peer).
    @Test func hostBusySaysWhyItHasNoFigure() {
        var short = report()
        let runs = short.runs
        short.runs = runs.map { run in
            var run = run
            run.sender = CPUUsage(userSeconds: 0, systemSeconds: 0.001, hostBusySeconds: 0, hostSoftirqSeconds: 0, hostTotalSeconds: 0)
            run.receiver = CPUUsage(userSeconds: 0, systemSeconds: 0.001, hostBusySeconds: nil, hostSoftirqSeconds: nil, hostTotalSeconds: nil)
            return run
        }
        let text = ProbeTable.render(short)
        #expect(text.contains("host CPU busy (sender)  runs too short to count (10 ms ticks)"))
        #expect(ProbeTable.render(report()).contains("host CPU busy (sender)  38 % of all CPUs (softirq 19 %)"))
    }

    /// With two runs the median of per-run shares (25 %) is no run's figure; the
    /// table shows the run the diagnosis reads (the faster one, rwnd 0 %), and says so.
    @Test func limitedByIsTheRunTheDiagnosisReads() throws {
        var twoRuns = report()
        var faster = twoRuns.runs[0]
        faster.seconds = 1
        faster.tcpInfo.rwndLimitedMicroseconds = 0
        twoRuns.runs.append(faster)
        let text = ProbeTable.render(twoRuns)
        let row = try #require(text.split(separator: "\n").first { $0.hasPrefix("limited by") })
        #expect(row.hasPrefix("limited by (median run)"))
        #expect(row.hasSuffix("rwnd 0 %, sndbuf 0 % of busy time"))
        #expect(text.contains("limited by the receive window 0 % and the send buffer 0 % of busy time"))
        #expect(ProbeTable.render(report()).contains("\nlimited by    "))
    }

    /// With --bidir a process's CPU covers both directions; the table says so, and
    /// a one-way table does not.
    @Test func aTwoWayTableSaysTheCPUCoversBothDirections() {
        var twoWays = report()
        var received = twoWays.runs[0]
        received.direction = .receive
        twoWays.direction = .both
        twoWays.runs.append(received)
        let note = "each process sent and received, so its CPU covers both directions"
        #expect(ProbeTable.render(twoWays).contains(note))
        #expect(!ProbeTable.render(report()).contains(note))
    }

    @Test func sparklineScalesFromZero() {
        #expect(Sparkline.render([0, 50, 100]) == "▁▅█")
        #expect(Sparkline.render([0, 0]) == "▁▁")
    }

    @Test func serveHelpSaysWhichDrainIsTheDefault() {
        // Compared with line wrapping folded away.
        let help = NetTuneCommand.helpMessage(for: NetTuneCommand.Serve.self, columns: 120)
            .split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(help.contains("trunc (recv with MSG_TRUNC, no copy; the default, measured cheapest here)"))
        #expect(help.contains("(values: trunc, splice, recv; default: trunc)"))
        #expect(
            help.contains("--port <port> The TCP port every connection of a probe comes to; 0 takes a free one, printed at start (default: 9000)."))
        #expect(help.contains("--queue <n> Clients that may wait while a probe runs; 0 refuses them as busy (default: 8)."))
    }
}
