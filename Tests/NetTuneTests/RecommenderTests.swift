import Testing

@testable import NetTune

@Suite struct RecommenderTests {
    @Test func aLANNeedsNoBufferChange() throws {
        let r = Recommender.recommend(
            throughput: 940e6, minRTTSeconds: 0.0004, pathMTU: 1500, interfaceMTU: 1500,
            interface: "eth0", bottleneck: .linkRate, memoryBytes: 1 << 30, tcpMemPages: nil)
        #expect(r.sysctls.isEmpty)
        #expect(r.mtu == nil)
        #expect(r.reasons.contains { $0.contains("no send-buffer change") })
        #expect(r.reasons.contains { $0.contains("link-rate bound") })
        #expect(!r.reasons.contains { $0.contains("run recommend again") })
        let toml = r.toml(name: "lan", peer: Endpoint(host: "10.0.0.2", port: 9000))
        #expect(toml.hasPrefix("# lan — recommended by `nettune recommend 10.0.0.2:9000` from a measured 940 Mbit/s.\n"), "\(toml)")
        // Printed rather than written: no name to give it.
        #expect(r.toml(name: nil, peer: Endpoint(host: "10.0.0.2", port: 9000)).hasPrefix("# Recommended by `nettune recommend 10.0.0.2:9000`"))
        let parsed = try ProfileParser.parse(toml, name: "lan", path: "lan.toml")
        #expect(parsed.includes == ["kernel-default"])
        #expect(parsed.sysctls.isEmpty)
    }

    @Test func aLongFatPathGetsBuffersSizedFromTheBDP() throws {
        // 1 Gbit/s × 100 ms = 12.5 MB; ×4 → 64 MiB (next power of two).
        let r = Recommender.recommend(
            throughput: 1e9, minRTTSeconds: 0.1, pathMTU: 1500, interfaceMTU: 1500,
            interface: "eth0", bottleneck: .receiveWindow, memoryBytes: 16 << 30, tcpMemPages: nil)
        #expect(r.sysctls[.tcpWmem] == "4096 131072 67108864")
        #expect(r.sysctls[.tcpRmem] == "4096 131072 67108864")
        let parsed = try ProfileParser.parse(
            r.toml(name: "wan", peer: Endpoint(host: "h", port: 1)),
            name: "wan", path: "wan.toml")
        #expect(parsed.sysctls[.tcpWmem] == "4096 131072 67108864")
    }

    /// A window-bound run measures what the window allowed, not what the path
    /// carries: sized from 173 Mbit/s the buffers would stay too small.
    @Test func aWindowBoundRunIsSizedFromThePathNotTheMeasurement() throws {
        let fromMeasurement = Recommender.recommend(
            throughput: 173e6, minRTTSeconds: 0.1, pathMTU: 1500, interfaceMTU: 1500,
            interface: "eth0", bottleneck: .sendBuffer, memoryBytes: 16 << 30, tcpMemPages: nil)
        #expect(fromMeasurement.sysctls[.tcpWmem] == "4096 131072 16777216")
        #expect(
            fromMeasurement.reasons.contains { $0.contains("may carry more than the measured 173 Mbit/s") && $0.contains("run recommend again") },
            "\(fromMeasurement.reasons)")
        let fromPath = Recommender.recommend(
            throughput: 173e6, pathGoodput: 956e6, minRTTSeconds: 0.1, pathMTU: 1500, interfaceMTU: 1500,
            interface: "eth0", bottleneck: .sendBuffer, memoryBytes: 16 << 30, tcpMemPages: nil)
        #expect(fromPath.sysctls[.tcpWmem] == "4096 131072 67108864")
        #expect(fromPath.reasons.first?.contains("the path carries 956 Mbit/s; BDP 11.4 MiB") == true, "\(fromPath.reasons)")
        #expect(!fromPath.reasons.contains { $0.contains("run recommend again") }, "\(fromPath.reasons)")
    }

    /// 64 MiB at 50 ms is mostly slow start: the profile says its BDP is a floor, and
    /// how to measure past it. With the path's rate known, the BDP is not a floor.
    @Test func aRunThatWasMostlySlowStartSaysItsBDPIsAFloor() {
        let short = Recommender.recommend(
            throughput: 799e6, minRTTSeconds: 0.05, pathMTU: 1500, interfaceMTU: 1500, interface: "eth0",
            bottleneck: .unknown, mostlySlowStart: true, memoryBytes: 16 << 30, tcpMemPages: nil)
        #expect(short.reasons.contains { $0.contains("BDP from their throughput is a floor: `recommend --time 10s`") }, "\(short.reasons)")
        let known = Recommender.recommend(
            throughput: 799e6, pathGoodput: 956e6, minRTTSeconds: 0.05, pathMTU: 1500, interfaceMTU: 1500, interface: "eth0",
            bottleneck: .unknown, mostlySlowStart: true, memoryBytes: 16 << 30, tcpMemPages: nil)
        #expect(!known.reasons.contains { $0.contains("is a floor") })
        let steady = Recommender.recommend(
            throughput: 799e6, minRTTSeconds: 0.05, pathMTU: 1500, interfaceMTU: 1500, interface: "eth0",
            bottleneck: .unknown, memoryBytes: 16 << 30, tcpMemPages: nil)
        #expect(!steady.reasons.contains { $0.contains("is a floor") })
    }

    @Test func memoryAndTcpMemCapTheBuffers() throws {
        let small = Recommender.recommend(
            throughput: 1e9, minRTTSeconds: 0.1, pathMTU: nil, interfaceMTU: nil, interface: nil,
            bottleneck: .unknown, memoryBytes: 512 << 20, tcpMemPages: nil)
        #expect(small.sysctls[.tcpWmem] == "4096 131072 16777216")  // 512 MiB / 32
        let tcpMem = try TCPBufferTriple(parsing: "2048 8192 16384")  // pressure at 32 MiB of pages
        let capped = Recommender.recommend(
            throughput: 1e9, minRTTSeconds: 0.1, pathMTU: nil, interfaceMTU: nil, interface: nil,
            bottleneck: .unknown, memoryBytes: 64 << 30, tcpMemPages: tcpMem)
        #expect(capped.sysctls[.tcpWmem] == "4096 131072 8388608")
        #expect(capped.reasons.contains { $0.contains("tcp_mem") })
    }

    @Test func aSmallerPathMTUIsRecommended() {
        let r = Recommender.recommend(
            throughput: 90e6, minRTTSeconds: 0.01, pathMTU: 1420, interfaceMTU: 1500,
            interface: "wlan0", bottleneck: .unknown, memoryBytes: nil, tcpMemPages: nil)
        #expect(r.mtu == 1420)
        #expect(r.interface == "wlan0")
        #expect(r.sysctls[.tcpMtuProbing] == "1")
    }

    /// A device that downloads: measured receiving, tcp_rmem is this machine's and
    /// tcp_wmem the server's, and the reasons say so.
    @Test func receivingSizesTheReceiveBufferHereAndTheSendBufferForTheServer() throws {
        let r = Recommender.recommend(
            [Recommender.Measured(direction: .receive, throughput: 1e9, minRTTSeconds: 0.1, bottleneck: .receiveWindow)],
            pathMTU: nil, interfaceMTU: 1500, interface: "eth0", memoryBytes: 16 << 30, tcpMemPages: nil)
        #expect(r.sysctls[.tcpRmem] == "4096 131072 67108864")
        #expect(r.sysctls[.tcpWmem] == "4096 131072 67108864")
        #expect(
            r.reasons.first == "Measured receiving (the server sent): 1 Gbit/s at a minimum RTT of 100.0 ms; BDP 11.9 MiB; bottleneck receive-window."
        )
        #expect(r.reasons.contains("tcp_rmem max 64 MiB = 4 × BDP, above the kernel's 6 MiB."), "\(r.reasons)")
        #expect(
            r.reasons.contains { $0.hasSuffix("for the server, which sent (this profile is for the receiver; apply it on both ends).") },
            "\(r.reasons)")
        #expect(!r.reasons.contains { $0.contains("this profile is for the sender") })
        #expect(r.reasons.contains { $0.hasPrefix("MTU not checked") })
        let toml = r.toml(name: "down", peer: Endpoint(host: "h", port: 9000))
        #expect(toml.hasPrefix("# down — recommended by `nettune recommend h:9000 -R` from a measured 1 Gbit/s receiving.\n"), "\(toml)")
        #expect(try ProfileParser.parse(toml, name: "down", path: "down.toml").sysctls[.tcpRmem] == "4096 131072 67108864")
    }

    /// An asymmetric path (a fast download, a slow upload): one profile for both
    /// ends, sized from the larger BDP, each direction's figures and limits named.
    @Test func bothWaysAreSizedFromTheLargerBDP() {
        let r = Recommender.recommend(
            [
                Recommender.Measured(direction: .send, throughput: 20e6, minRTTSeconds: 0.04, bottleneck: .linkRate),
                Recommender.Measured(direction: .receive, throughput: 300e6, minRTTSeconds: 0.04, bottleneck: .receiveWindow)
            ], pathMTU: 1500, interfaceMTU: 1500, interface: "eth0", memoryBytes: 16 << 30, tcpMemPages: nil)
        // 300 Mbit/s × 40 ms = 1.4 MiB; × 4 → 8 MiB, above both kernel maxima.
        #expect(r.sysctls[.tcpWmem] == "4096 131072 8388608")
        #expect(r.sysctls[.tcpRmem] == "4096 131072 8388608")
        #expect(r.reasons[0].hasPrefix("Measured sending: 20 Mbit/s"), "\(r.reasons)")
        #expect(r.reasons[1].hasPrefix("Measured receiving (the server sent): 300 Mbit/s"), "\(r.reasons)")
        #expect(r.reasons.contains("Sized from the larger BDP, 1.4 MiB: one profile serves both directions."), "\(r.reasons)")
        #expect(r.reasons.contains("Sending was link-rate bound: buffers were not what held it back."))
        #expect(r.reasons.contains { $0.hasPrefix("The receive window held receiving back") })
        #expect(
            r.toml(name: "x", peer: Endpoint(host: "h", port: 9000)).hasPrefix(
                "# x — recommended by `nettune recommend h:9000 --bidir` from a measured 20 Mbit/s sending and 300 Mbit/s receiving.\n"))
    }

    @Test func memTotalIsRead() {
        #expect(Recommender.memoryBytes(meminfo: "MemTotal:       24576000 kB\nMemFree: 1 kB\n") == 24_576_000 * 1024)
        #expect(Recommender.memoryBytes(meminfo: "nothing") == nil)
    }
}
