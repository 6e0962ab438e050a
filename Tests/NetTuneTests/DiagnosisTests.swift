import Testing

@testable import NetTune

/// Recorded-style probe results, one per bottleneck kind.
@Suite struct DiagnosisTests {
    struct Fixture {
        var throughput: Double = 10e9  // bit/s
        var seconds: Double = 1
        var senderCPU: Double = 0.3  // process seconds over the run
        var receiverCPU: Double = 0.2
        var busy: UInt64 = 1_000_000  // µs
        var rwndLimited: UInt64 = 0
        var sndbufLimited: UInt64 = 0
        var cwnd: UInt32 = 100
        var mss: UInt32 = 1448
        var minRTT: UInt32 = 50  // µs
        var retransmits: UInt32 = 0
        var sendBuffer = 4 << 20
        var method = ProbeMethod.sendfile
        var congestion: String? = "bbr"
        /// Busy seconds of each end's machine, which has two CPUs (default: the process's own).
        var senderHostBusy: Double? = nil
        var receiverHostBusy: Double? = nil

        var run: RunResult {
            var bytes = [UInt8](repeating: 0, count: 232)
            func put(_ value: UInt64, at offset: Int, width: Int) {
                for i in 0..<width { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
            }
            bytes[0] = 1
            put(UInt64(mss), at: 16, width: 4)
            put(1500, at: 60, width: 4)
            put(UInt64(minRTT) * 2, at: 68, width: 4)
            put(UInt64(cwnd), at: 80, width: 4)
            put(UInt64(retransmits), at: 100, width: 4)
            put(UInt64(minRTT), at: 148, width: 4)
            put(busy, at: 168, width: 8)
            put(rwndLimited, at: 176, width: 8)
            put(sndbufLimited, at: 184, width: 8)
            let byteCount = UInt64(throughput * seconds / 8)
            func cpu(_ s: Double, host: Double?) -> CPUUsage {
                CPUUsage(userSeconds: 0, systemSeconds: s, hostBusySeconds: host ?? s, hostSoftirqSeconds: 0, hostTotalSeconds: 2 * seconds)
            }
            return RunResult(
                method: method, bytes: byteCount, seconds: seconds, sender: cpu(senderCPU, host: senderHostBusy),
                receiver: cpu(receiverCPU, host: receiverHostBusy),
                tcpInfo: TCPInfo(kernelBytes: bytes), intervals: [], congestion: congestion,
                sendBufferBytes: sendBuffer, receiveBufferBytes: 131072)
        }
    }

    let lan = DiagnosisContext(shapingRate: nil, linkSpeed: nil, interface: "eth0", tcpWmemMax: 4 << 20, tcpRmemMax: 6 << 20)

    /// A BBR sender short of CPU, with no fq on its egress, paces every socket with
    /// its own timer (measured: about one per 64 KiB burst on the lab's veth): the
    /// diagnosis says so and where the pacing could go instead.
    @Test func aBBRSenderShortOfCPUIsToldItPacesByTimerWhereNoFqDoes() {
        var f = Fixture()
        f.senderCPU = 0.97
        var context = lan
        context.qdisc = "pfifo_fast"
        let d = Diagnoser.diagnose(f.run, context: context)
        #expect(d.bottleneck == .senderCPU)
        #expect(
            d.evidence.contains(
                "congestion control bbr with no fq qdisc on eth0 (pfifo_fast): TCP paces each socket itself, with a timer whenever a burst has to wait"
            ),
            "\(d.evidence)")
        #expect(d.advice.contains("a timer per held-back burst here; fq as the root qdisc on eth0 paces in the qdisc instead"), "\(d.advice)")
        #expect(d.advice.contains("--congestion cubic"))
        #expect(
            d.advice.hasSuffix(
                "Buffers come second (the BDP of 61 KiB is far below the sender's tcp_wmem max of 4 MiB, so raising buffers cannot help)."))
        // Under a multi-queue root the queues' qdisc is the default one.
        context.qdisc = "mq"
        context.defaultQdisc = "fq_codel"
        let mq = Diagnoser.diagnose(f.run, context: context)
        #expect(mq.evidence.contains { $0.contains("no fq qdisc on eth0 (mq of fq_codel)") }, "\(mq.evidence)")
        #expect(mq.advice.contains("fq on the queues of the mq on eth0 (net.core.default_qdisc = fq"), "\(mq.advice)")
    }

    /// Nothing about pacing where fq paces, where the sender is not BBR, where the
    /// qdisc is unknown or may hold fq (a classful root), or where the sender is not
    /// the end short of CPU.
    @Test(
        arguments: [
            ("bbr", "fq", nil, 0.97, 0.2), ("cubic", "pfifo_fast", nil, 0.97, 0.2), (nil, "noqueue", nil, 0.97, 0.2),
            ("bbr", nil, "pfifo_fast", 0.97, 0.2), ("bbr", "htb", nil, 0.97, 0.2), ("bbr", "mq", "fq", 0.97, 0.2),
            ("bbr", "mq", nil, 0.97, 0.2), ("bbr", "noqueue", nil, 0.4, 0.2), ("bbr", "noqueue", nil, 0.3, 0.97)
        ] as [(String?, String?, String?, Double, Double)])
    func pacingIsNotMentionedWhereItDoesNotApply(congestion: String?, qdisc: String?, defaultQdisc: String?, sender: Double, receiver: Double) {
        var f = Fixture()
        f.congestion = congestion
        f.senderCPU = sender
        f.receiverCPU = receiver
        var context = lan
        context.qdisc = qdisc
        context.defaultQdisc = defaultQdisc
        let d = Diagnoser.diagnose(f.run, context: context)
        #expect(!d.evidence.contains { $0.contains("paces") }, "\(d.evidence)")
        #expect(!d.advice.contains("pacing"), "\(d.advice)")
    }

    /// Four streams on a two-core machine: no process fills a core, but the machine
    /// is busy on all its CPUs (measured: sender 87 % of a core, host 100 %).
    @Test func aMachineBusyOnAllItsCPUsIsTheLimitThoughNoProcessFillsACore() {
        var f = Fixture()
        f.senderCPU = 0.87
        f.receiverCPU = 0.65
        f.senderHostBusy = 2
        f.receiverHostBusy = 2  // both ends on one machine
        var context = lan
        context.senderName = "this machine"
        context.qdisc = "noqueue"
        let d = Diagnoser.diagnose(f.run, context: context)
        #expect(d.bottleneck == .senderCPU)
        #expect(d.evidence.contains("all of this machine's CPUs busy 100 % of the time"), "\(d.evidence)")
        #expect(d.advice.contains("a timer per held-back burst"))
        // Only the receiver's machine full: the receiver, though its process used less.
        f.senderCPU = 0.5
        f.receiverCPU = 0.3
        f.senderHostBusy = 0.6
        f.receiverHostBusy = 1.9
        let receiving = Diagnoser.diagnose(f.run, context: lan)
        #expect(receiving.bottleneck == .receiverCPU)
        #expect(receiving.evidence.contains("all of the receiver's CPUs busy 95 % of the time"), "\(receiving.evidence)")
        // Below 90 % busy nothing is blamed on the CPU.
        f.receiverHostBusy = 1.7
        #expect(Diagnoser.diagnose(f.run, context: lan).bottleneck == .unknown)
    }

    /// Two busy programs beside a probe on a two-core machine (measured in a lab:
    /// sender 33 % of a core, receiver 23 %, the machine 99 % busy, 15.5 Gbit/s
    /// against 23.9 when quiet): the machine was short of CPU because others had
    /// it, which no MTU or offload changes.
    @Test func otherProgramsTakingTheCPUAreNamedBeforeAnyAdvice() {
        var f = Fixture()
        f.senderCPU = 0.33
        f.receiverCPU = 0.23
        f.senderHostBusy = 1.98
        f.receiverHostBusy = 1.98
        var context = lan
        context.senderName = "this machine"
        let d = Diagnoser.diagnose(f.run, context: context)
        #expect(d.bottleneck == .senderCPU)
        #expect(d.evidence.contains("other programs on this machine used about 71 % of its CPUs during the run"), "\(d.evidence)")
        #expect(
            d.advice.hasPrefix(
                "This machine was short of CPU, but other programs had about 71 % of it: the probe measured a share of a busy machine. Measure again when it is quiet"
            ), "\(d.advice)")
        // The probe's own processes and softirq work are not "other programs": four
        // streams filling both cores by themselves say nothing of them.
        f.senderCPU = 0.87
        f.receiverCPU = 0.65
        f.senderHostBusy = 2
        f.receiverHostBusy = 2
        let own = Diagnoser.diagnose(f.run, context: context)
        #expect(own.bottleneck == .senderCPU)
        #expect(!own.evidence.contains { $0.contains("other programs") }, "\(own.evidence)")
        #expect(own.advice.hasPrefix("The sender's CPU (this machine) is the limit"), "\(own.advice)")
    }

    /// Receiving, the sender is the server: its qdisc is the one judged.
    @Test func receivingTheServersQdiscDecides() {
        var f = Fixture()
        f.senderCPU = 0.97
        let local = TuningState(interface: "eth0", qdisc: "fq")
        let remote = TuningState(interface: "enp1s0", qdisc: "noqueue")
        let receiving = Diagnoser.diagnose(f.run, context: DiagnosisContext(direction: .receive, local: local, remote: remote))
        let sending = Diagnoser.diagnose(f.run, context: DiagnosisContext(direction: .send, local: local, remote: remote))
        #expect(receiving.evidence.contains { $0.contains("no fq qdisc on the server's enp1s0 (noqueue)") }, "\(receiving.evidence)")
        #expect(!sending.evidence.contains { $0.contains("paces") }, "\(sending.evidence)")
    }

    @Test func linkRate() {
        var f = Fixture()
        f.throughput = 95.6e6
        let context = DiagnosisContext(shapingRate: 100e6, interface: "eth0", tcpWmemMax: 4 << 20)
        let d = Diagnoser.diagnose(f.run, context: context)
        #expect(d.bottleneck == .linkRate)
        #expect(d.evidence.contains { $0.contains("100 % of the 95.6 Mbit/s goodput the 100 Mbit/s shaper on eth0 allows") })
        #expect(d.advice.contains("buffer tuning cannot make this faster"))
        #expect(d.advice.contains("far below the sender's tcp_wmem max of 4 MiB"))
    }

    /// Receiving, the shaper that sets the rate is on the server's egress: the
    /// evidence says whose interface it names.
    @Test func theShaperIsNamedWithTheEndItIsOn() {
        var f = Fixture()
        f.throughput = 95.6e6
        var local = TuningState()
        local.interface = "eth0"
        local.shapingRate = 100_000_000
        var remote = TuningState()
        remote.interface = "enp1s0"
        remote.shapingRate = 100_000_000
        let sending = Diagnoser.diagnose(f.run, context: DiagnosisContext(direction: .send, local: local, remote: remote))
        let receiving = Diagnoser.diagnose(f.run, context: DiagnosisContext(direction: .receive, local: local, remote: remote))
        #expect(sending.evidence.contains { $0.hasSuffix("the 100 Mbit/s shaper on eth0 allows") }, "\(sending.evidence)")
        #expect(receiving.evidence.contains { $0.hasSuffix("the 100 Mbit/s shaper on the server's enp1s0 allows") }, "\(receiving.evidence)")
        #expect(receiving.bottleneck == .linkRate)
    }

    @Test func aPhysicalLinkSpeedCountsButAVirtualOneTheTransferExceedsDoesNot() {
        var f = Fixture()
        f.throughput = 940e6
        #expect(Diagnoser.diagnose(f.run, context: DiagnosisContext(linkSpeed: 1e9, tcpWmemMax: 4 << 20)).bottleneck == .linkRate)
        f.throughput = 18e9
        #expect(Diagnoser.diagnose(f.run, context: DiagnosisContext(linkSpeed: 10e9, tcpWmemMax: 4 << 20)).bottleneck != .linkRate)
    }

    @Test func receiveWindow() {
        var f = Fixture()
        f.throughput = 0.41e9
        f.rwndLimited = 360_000
        // The receiver's tcp_rmem 4096 4096 4096, as the server reports it.
        let starved = DiagnosisContext(
            interface: "eth0", tcpWmemMax: 4 << 20, tcpRmemMax: 4096, senderName: "this machine", receiverName: "the server")
        let d = Diagnoser.diagnose(f.run, context: starved)
        #expect(d.bottleneck == .receiveWindow)
        #expect(d.evidence.contains { $0.contains("receive window 36 %") })
        #expect(d.advice.contains("raise tcp_rmem's max on the server (its tcp_rmem max is 4 KiB)"))
        // No restart: every probe gets a fresh listener.
        #expect(!d.advice.contains("restart"))
    }

    /// A receive buffer that cannot hold one congestion window is the limit even when
    /// TCP_INFO charges less than the usual share of the time to the window; one that
    /// could hold it needs the usual share.
    @Test func aReceiveBufferBelowOneWindowIsTheLimitAtAnyShare() {
        var f = Fixture()
        f.throughput = 0.48e9
        f.cwnd = 10
        f.rwndLimited = 190_000
        let starved = DiagnosisContext(
            interface: "eth0", tcpWmemMax: 4 << 20, tcpRmemMax: 4096, senderName: "the server", receiverName: "this machine")
        let d = Diagnoser.diagnose(f.run, context: starved)
        #expect(d.bottleneck == .receiveWindow)
        #expect(d.evidence.contains { $0.hasPrefix("tcp_rmem max 4 KiB on this machine is smaller than TCP's initial window") })
        let roomy = DiagnosisContext(
            interface: "eth0", tcpWmemMax: 4 << 20, tcpRmemMax: 64 << 10, senderName: "the server", receiverName: "this machine")
        #expect(Diagnoser.diagnose(f.run, context: roomy).bottleneck != .receiveWindow)
        f.rwndLimited = 0
        #expect(Diagnoser.diagnose(f.run, context: starved).bottleneck != .receiveWindow)
    }

    /// A window that fills although the receiver could grow it far past the BDP:
    /// the receiving process is the limit, not its buffer.
    @Test func aFullWindowWithRoomToGrowIsTheReceiversSpeed() {
        var f = Fixture()
        f.rwndLimited = 600_000
        let d = Diagnoser.diagnose(f.run, context: lan)
        #expect(d.bottleneck == .receiverCPU)
        #expect(d.advice.contains("did not read fast enough"))
    }

    /// With the path's rate known, the BDP comes from it, not from a throughput the
    /// window already cut — so the advice says how large the window must be.
    @Test func theBDPComesFromThePathWhenTheWindowIsTheLimit() {
        var f = Fixture()
        f.throughput = 0.31e9  // 4 MiB per 100 ms
        f.minRTT = 100_000
        f.rwndLimited = 800_000
        let context = DiagnosisContext(shapingRate: 1e9, interface: "eth0", tcpWmemMax: 4 << 20, tcpRmemMax: 4 << 20)
        let d = Diagnoser.diagnose(f.run, context: context)
        #expect(d.bottleneck == .receiveWindow)
        #expect(d.evidence.first == "BDP = min RTT 100.0 ms × 956 Mbit/s (the path's rate) = 11.4 MiB")
        #expect(d.advice.contains("so a max of at least 22.8 MiB lets one stream fill it"))
    }

    @Test func mtuAdviceStartsFromTheMTUInUse() {
        var f = Fixture()
        f.throughput = 95.6e6
        let at1500 = Diagnoser.diagnose(f.run, context: DiagnosisContext(shapingRate: 100e6, mtu: 1500))
        #expect(at1500.advice.contains("MTU 9000 (from 1500) would add at most 5 % of goodput"))
        let at9000 = Diagnoser.diagnose(f.run, context: DiagnosisContext(shapingRate: 100e6, mtu: 9000))
        #expect(at9000.advice.contains("The MTU is already 9000: nothing to gain there."))
    }

    @Test func sendBufferByTheKernelsCounter() {
        var f = Fixture()
        f.sndbufLimited = 500_000
        #expect(Diagnoser.diagnose(f.run, context: lan).bottleneck == .sendBuffer)
    }

    /// tcp_wmem 4096 4096 4096: the counter stays 0, but SO_SNDBUF cannot hold a window.
    @Test func sendBufferSmallerThanOneWindow() {
        var f = Fixture()
        f.throughput = 6.9e9
        f.sendBuffer = 4096
        f.cwnd = 184
        let d = Diagnoser.diagnose(f.run, context: DiagnosisContext(tcpWmemMax: 4096))
        #expect(d.bottleneck == .sendBuffer)
        #expect(d.evidence.contains("SO_SNDBUF 4 KiB against cwnd × MSS = 260.2 KiB"))
        // The 0 % it lists beside is explained, not left to contradict it.
        #expect(d.evidence.contains { $0.hasPrefix("SO_SNDBUF 4 KiB is smaller than TCP's initial window (10 segments, 14.1 KiB)") })
        #expect(d.advice.contains("its tcp_wmem max is 4 KiB"))
    }

    @Test func senderAndReceiverCPU() {
        var f = Fixture()
        f.senderCPU = 0.97
        #expect(Diagnoser.diagnose(f.run, context: lan).bottleneck == .senderCPU)
        f.senderCPU = 0.4
        f.receiverCPU = 0.95
        #expect(Diagnoser.diagnose(f.run, context: lan).bottleneck == .receiverCPU)
    }

    /// The CPU advice fits the end and the method: a sender already on sendfile is
    /// not told to use sendfile, a receiver is not told about the sender's method,
    /// and an MTU already at 9000 is not offered as a remedy.
    @Test func cpuAdviceFitsTheEndAndTheMethod() {
        var f = Fixture()
        f.senderCPU = 0.97
        let machine = DiagnosisContext(
            interface: "eth0", tcpWmemMax: 4 << 20, tcpRmemMax: 6 << 20, mtu: 1500, senderName: "this machine",
            receiverName: "the server")
        let onSendfile = Diagnoser.diagnose(f.run, context: machine).advice
        #expect(onSendfile.hasPrefix("The sender's CPU (this machine) is the limit: sendfile already keeps the bytes in the kernel"))
        #expect(onSendfile.contains("a larger MTU (from 1500) or segmentation offload (TSO/GSO on eth0) cuts"))
        #expect(!onSendfile.contains("--method sendfile"))
        #expect(onSendfile.contains("Buffers come second (the BDP of 61 KiB is far below this machine's tcp_wmem max of 4 MiB"))

        f.method = .readwrite
        let onReadWrite = Diagnoser.diagnose(f.run, context: machine).advice
        #expect(onReadWrite.contains("the read/write loop copies every byte through user space; sendfile (--method sendfile)"))

        var jumbo = machine
        jumbo.mtu = 9000
        f.method = .splice
        let atJumbo = Diagnoser.diagnose(f.run, context: jumbo).advice
        #expect(atJumbo.contains("splice already keeps the bytes in the kernel; what is left is per-packet work, which segmentation offload"))
        #expect(!atJumbo.contains("MTU"))

        f.senderCPU = 0.4
        f.receiverCPU = 0.95
        let receiving = Diagnoser.diagnose(f.run, context: machine).advice
        #expect(receiving.hasPrefix("The receiver's CPU (the server) is the limit: receiving is per-packet work"))
        #expect(receiving.contains("receive offload (GRO)"))
        #expect(!receiving.contains("sendfile") && !receiving.contains("splice"))
    }

    @Test func loss() {
        var f = Fixture()
        f.throughput = 80e6
        f.retransmits = 1000  // 1000 × 1448 B of 10 MB: 14 %
        let d = Diagnoser.diagnose(f.run, context: lan)
        #expect(d.bottleneck == .loss)
    }

    @Test func unknownStillSaysWhetherBuffersCanHelp() {
        let d = Diagnoser.diagnose(Fixture().run, context: lan)
        #expect(d.bottleneck == .unknown)
        // BDP = 50 µs × 10 Gbit/s = 62.5 KB, far below 4 MiB.
        #expect(d.evidence.first == "BDP = min RTT 50 µs × 10 Gbit/s (measured) = 61 KiB")
        #expect(d.advice.contains("raising buffers cannot help"))
    }

    @Test func aLongFatPathSaysBuffersCanHelp() {
        var f = Fixture()
        f.throughput = 1e9
        f.minRTT = 100_000  // 100 ms: BDP 12.5 MB
        let d = Diagnoser.diagnose(f.run, context: lan)
        #expect(d.advice.contains("exceeds the sender's tcp_wmem max of 4 MiB, so larger buffers can help"))
    }

    /// A 3 s run at 100 ms is 30 round trips; slow start takes about 10 of them to
    /// reach an 11 MiB BDP, so the gap to the link is partly ramp-up.
    @Test func aShortRunOnALongPathBlamesSlowStartNotBuffers() {
        var f = Fixture()
        f.throughput = 0.69e9
        f.seconds = 3
        f.minRTT = 100_000
        f.busy = 3_000_000
        f.cwnd = 5000
        f.sendBuffer = 32 << 20
        let context = DiagnosisContext(shapingRate: 1e9, interface: "eth0", tcpWmemMax: 64 << 20, tcpRmemMax: 64 << 20)
        let d = Diagnoser.diagnose(f.run, context: context)
        #expect(d.bottleneck == .unknown)
        #expect(d.evidence.last == "the run lasted 30 round trips; slow start needs about 10 to reach the BDP")
        #expect(d.advice.contains("A longer run (--time 10s) measures the steady state"))
        #expect(d.bdpBytes == 11_955_652 || (d.bdpBytes ?? 0) > 11_000_000)
        #expect(d.pathRate == 1e9)
        // Long enough, and the same figures are no longer put down to slow start.
        f.seconds = 60
        f.busy = 60_000_000
        #expect(!Diagnoser.diagnose(f.run, context: context).advice.contains("slow start"))
    }

    /// Measured in the lab at 50 ms with tcp_rmem/tcp_wmem max 32 MiB on both ends:
    /// 64 MiB took 0.65 s, 13 round trips, and cubic's slow start left cwnd at 44 MiB,
    /// above the receiver's max, with the window limiting 8 % of the time. That is
    /// slow start, not a starved receiver: an 8 s run of the same path went 3.2 Gbit/s.
    @Test func slowStartOvershootOnALongPathIsNotAStarvedReceiver() {
        var f = Fixture()
        f.throughput = 0.83e9
        f.seconds = 0.65
        f.minRTT = 50_000
        f.busy = 744_000
        f.rwndLimited = 60_000
        f.cwnd = 30_765
        f.sendBuffer = 32 << 20
        let context = DiagnosisContext(
            interface: "eth0", tcpWmemMax: 32 << 20, tcpRmemMax: 32 << 20, senderName: "this machine", receiverName: "the server")
        let d = Diagnoser.diagnose(f.run, context: context)
        #expect(d.bottleneck == .unknown, "\(d)")
        #expect(d.evidence.last == "the run lasted 13 round trips; slow start needs about 9 to reach the BDP")
        #expect(d.advice.contains("part of what it measured is slow start"))
        #expect(d.advice.contains("A longer run (--time 10s)"))
        #expect(d.advice.contains("The BDP of 4.9 MiB from this run's throughput is only a floor"), "\(d.advice)")
        #expect(!d.advice.contains("cannot help"))
        #expect(d.mostlySlowStart)
        #expect(d.pathRate == nil)
        // The same run against a receiver that cannot hold even the initial window is
        // window-bound, as before.
        let starved = DiagnosisContext(
            interface: "eth0", tcpWmemMax: 32 << 20, tcpRmemMax: 4096, senderName: "this machine", receiverName: "the server")
        #expect(Diagnoser.diagnose(f.run, context: starved).bottleneck == .receiveWindow)
    }
}
