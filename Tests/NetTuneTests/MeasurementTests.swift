import Testing

@testable import NetTune

@Suite struct StatisticsTests {
    @Test func medianOfOddAndEvenCounts() {
        #expect(Statistics.median([3, 1, 2]) == 2)
        #expect(Statistics.median([4, 1, 3, 2]) == 2.5)
        #expect(Statistics.median([]) == nil)
    }

    @Test func spread() throws {
        let values = [2.0, 4, 4, 4, 5, 5, 7, 9]
        #expect(Statistics.mean(values) == 5)
        let sd = try #require(Statistics.standardDeviation(values))
        #expect(abs(sd - 2.138) < 0.001)
        #expect(abs(try #require(Statistics.coefficientOfVariation(values)) - 0.4276) < 0.001)
        #expect(Statistics.standardDeviation([1]) == nil)
    }

    @Test func quantiles() {
        #expect(Statistics.quantile([1, 2, 3, 4, 5], 0.5) == 3)
        #expect(Statistics.quantile([1, 2, 3, 4], 0.25) == 1.75)
        #expect(Statistics.quantile([10], 0.9) == 10)
    }
}

@Suite struct TCPInfoTests {
    /// Bytes laid out as the kernel's struct tcp_info (linux/tcp.h), little-endian.
    private func kernelBytes(count: Int = 232) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        func put(_ value: UInt64, at offset: Int, width: Int) {
            guard offset + width <= count else { return }
            for i in 0..<width { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
        }
        bytes[0] = 1  // tcpi_state: ESTABLISHED
        put(1448, at: 16, width: 4)  // tcpi_snd_mss
        put(1500, at: 60, width: 4)  // tcpi_pmtu
        put(250, at: 68, width: 4)  // tcpi_rtt
        put(40, at: 72, width: 4)  // tcpi_rttvar
        put(87, at: 80, width: 4)  // tcpi_snd_cwnd
        put(12, at: 100, width: 4)  // tcpi_total_retrans
        put(241_172_480, at: 120, width: 8)  // tcpi_bytes_acked
        put(7_340_032, at: 128, width: 8)  // tcpi_bytes_received
        put(31, at: 148, width: 4)  // tcpi_min_rtt
        put(900_000, at: 168, width: 8)  // tcpi_busy_time
        put(320_000, at: 176, width: 8)  // tcpi_rwnd_limited
        put(5_000, at: 184, width: 8)  // tcpi_sndbuf_limited
        put(241_200_000, at: 200, width: 8)  // tcpi_bytes_sent
        put(65_535, at: 228, width: 4)  // tcpi_snd_wnd
        return bytes
    }

    @Test func decodesTheKernelLayout() {
        let info = TCPInfo(kernelBytes: kernelBytes())
        #expect(info.isEstablished)
        #expect(info.sndMSS == 1448)
        #expect(info.pmtu == 1500)
        #expect(info.rttMicroseconds == 250)
        #expect(info.rttVarMicroseconds == 40)
        #expect(info.sndCwnd == 87)
        #expect(info.totalRetransmits == 12)
        #expect(info.bytesAcked == 241_172_480)
        #expect(info.bytesReceived == 7_340_032)
        #expect(info.minRTTMicroseconds == 31)
        #expect(info.busyMicroseconds == 900_000)
        #expect(info.rwndLimitedMicroseconds == 320_000)
        #expect(info.sndbufLimitedMicroseconds == 5_000)
        #expect(info.bytesSent == 241_200_000)
        #expect(info.sndWnd == 65_535)
    }

    /// tcpi_bytes_received counts the peer's FIN as a byte; the payload does not.
    @Test func thePeersFINIsNotPayload() {
        var info = TCPInfo(kernelBytes: kernelBytes())
        #expect(info.payloadBytesReceived == 7_340_032)
        for finReceived: UInt8 in [6, 8, 9, 11] {
            info.state = finReceived
            #expect(info.payloadBytesReceived == 7_340_031, "state \(finReceived)")
        }
        info.bytesReceived = 0  // not from a kernel, but never a wrapped count
        #expect(info.payloadBytesReceived == 0)
        info.state = 7  // CLOSE: whether the FIN came cannot be told
        #expect(info.payloadBytesReceived == nil)
        #expect(TCPInfo(kernelBytes: kernelBytes(count: 104)).payloadBytesReceived == nil)
    }

    /// An older kernel returns a shorter structure: the newer fields are absent, not garbage.
    @Test func shorterStructuresLeaveNewerFieldsNil() {
        let info = TCPInfo(kernelBytes: kernelBytes(count: 104))
        #expect(info.totalRetransmits == 12)
        #expect(info.bytesAcked == nil)
        #expect(info.bytesReceived == nil)
        #expect(info.busyMicroseconds == nil)
        #expect(info.sndWnd == nil)
    }
}

@Suite struct HostCPUTests {
    @Test func readsTheAggregateLine() throws {
        let stat = """
            cpu  100 5 50 1000 20 3 7 2 0 0
            cpu0 50 2 25 500 10 1 3 1 0 0
            intr 12345
            """
        let host = try #require(HostCPU(procStat: stat, ticksPerSecond: 100))
        // busy = user + nice + system + irq + softirq + steal = 167 ticks of 10 ms
        #expect(host.busy == 1_670_000_000)
        #expect(host.softirq == 70_000_000)
        #expect(host.total == 1_670_000_000 + 10_200_000_000)
        #expect(HostCPU(procStat: "intr 1\n", ticksPerSecond: 100) == nil)
    }

    @Test func usageIsTheDifferenceOfTwoSamples() {
        let a = CPUSample(
            processUserNanoseconds: 1_000_000_000, processSystemNanoseconds: 0,
            hostBusyNanoseconds: 0, hostSoftirqNanoseconds: 0, hostTotalNanoseconds: 0)
        let b = CPUSample(
            processUserNanoseconds: 1_500_000_000, processSystemNanoseconds: 250_000_000,
            hostBusyNanoseconds: 2_000_000_000, hostSoftirqNanoseconds: 500_000_000, hostTotalNanoseconds: 4_000_000_000)
        let usage = b.since(a)
        #expect(usage.userSeconds == 0.5)
        #expect(usage.systemSeconds == 0.25)
        #expect(usage.processSeconds == 0.75)
        #expect(usage.hostBusySeconds == 2)
        #expect(usage.hostTotalSeconds == 4)
    }
}

@Suite struct RunResultTests {
    @Test func throughputAndServiceDemand() {
        let cpu = CPUUsage(userSeconds: 0.1, systemSeconds: 0.4, hostBusySeconds: 1, hostSoftirqSeconds: 0.2, hostTotalSeconds: 4)
        let run = RunResult(
            method: .sendfile, bytes: 1 << 30, seconds: 2, sender: cpu, receiver: cpu,
            tcpInfo: TCPInfo(kernelBytes: []), intervals: [], congestion: "bbr",
            sendBufferBytes: 0, receiveBufferBytes: 0)
        #expect(run.throughputBitsPerSecond == Double(1 << 30) * 8 / 2)
        #expect(run.senderCPUSecondsPerGiB == 0.5)
        let report = ProbeReport(
            peer: Endpoint(host: "x", port: 1), methods: [.sendfile], payloadBytes: 1 << 30, payloadPath: "/p",
            kernel: "6", congestion: nil, egressInterface: nil, mtu: nil,
            runs: [
                run, run,
                RunResult(
                    method: .readwrite, bytes: 1, seconds: 1, sender: cpu, receiver: cpu,
                    tcpInfo: TCPInfo(kernelBytes: []), intervals: [], congestion: nil,
                    sendBufferBytes: 0, receiveBufferBytes: 0)
            ])
        #expect(report.runs(of: .sendfile).count == 2)
        #expect(report.summary(of: .sendfile)?.throughputBitsPerSecondMedian == run.throughputBitsPerSecond)
        #expect(report.summary(of: .splice) == nil)
    }

    @Test func intervalRate() {
        #expect(Interval(start: 1, end: 2, bytes: 125_000_000).bitsPerSecond == 1e9)
        #expect(Interval(start: 1, end: 1, bytes: 5).bitsPerSecond == 0)
    }
}
