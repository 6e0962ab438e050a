import Foundation
import Glibc
import SystemPackage
import Testing

@testable import NetTune
@testable import NetTuneCommands

/// Absurd input becomes a one-line error, never a trap.
@Suite struct TimeSpanTests {
    @Test(arguments: [("30s", 30_000), ("2m", 120_000), ("500ms", 500), ("1.5h", 5_400_000), ("0", 0), ("45", 45_000)])
    func parses(text: String, milliseconds: Int64) throws {
        #expect(try TimeSpan.parse(text) == .milliseconds(milliseconds))
    }

    @Test(arguments: ["9223372036854775807s", "1e300", "99999999999999999999h", "10000000000000000s", "366d", "31536001"])
    func absurdDurationsAreRefusedNotTrapped(text: String) {
        let error = #expect(throws: TimeSpanError.self) { try TimeSpan.parse(text) }
        #expect(error != nil)
    }

    @Test(arguments: ["", "s", "-1s", "1.2.3s", "abc", "5 parsecs", "１s", "nan", "inf"])
    func malformedDurationsSaySo(text: String) {
        let error = #expect(throws: TimeSpanError.self) { try TimeSpan.parse(text) }
        #expect(error?.description.contains("is not a duration") == true)
    }

    @Test func theLongestAcceptedDurationDoesNotOverflowADeadline() throws {
        let longest = try TimeSpan.parse("8760h")
        #expect(longest == TimeSpan.maximum)
        _ = Deadline.after(longest)
        #expect(longest.millisecondsRoundedUp == 31_536_000_000)
    }

    @Test func formatsForPeople() {
        #expect(TimeSpan.format(.milliseconds(250)) == "250 ms")
        #expect(TimeSpan.format(.seconds(30)) == "30 s")
        #expect(TimeSpan.format(.seconds(125)) == "2 min 5 s")
        #expect(TimeSpan.format(.seconds(6000)) == "1 h 40 min")
    }
}

@Suite struct ArgumentParsingTests {
    /// Each problem is explained in the tool's own words, and parsing fails before `run`.
    @Test(arguments: [
        (["probe", "10.0.0.2:9000", "--time", "0"], "must be longer than zero"),
        (["probe", "10.0.0.2:9000", "--time", "1e20s"], "is not a duration"),
        (["probe", "10.0.0.2:9000", "--time", "99999999999999999s"], "longer than nettune allows"),
        (["probe", "10.0.0.2:9000", "--runs", "9223372036854775807"], "from 1 to 1000"),
        (["probe", "10.0.0.2:9000", "--size", "12 parsecs"], "unknown unit"),
        (["probe", "10.0.0.2:9000", "--token", ""], "empty token would admit everyone"),
        (["probe", "10.0.0.2:9000", "--token", String(repeating: "x", count: 256)], "longer than the 255"),
        (["probe", "10.0.0.2:9000", "--methods", "sendfile,carrier-pigeon"], "'carrier-pigeon' is not a method"),
        (["probe", "10.0.0.2:"], "has no valid port"),
        (["probe", "::1"], "is not HOST[:PORT]"),
        (["probe", "10.0.0.2:0"], "no valid port"),
        (["probe", "10.0.0.2", "-R", "--congestion", "bbr;reboot"], "is not the name of a congestion control"),
        (["probe", "10.0.0.2", "--congestion", String(repeating: "b", count: 16)], "at most 15"),
        (["serve", "--idle-timeout", "0"], "must be longer than zero"),
        (["serve", "--token", ""], "empty token"),
        (["try", "jumbo", "--timeout", "0"], "must be longer than zero"),
        (["try", "jumbo", "--timeout=-5s"], "is not a duration"),
        // A negative number is the option's value, as getopt takes it for iperf3, not a flag.
        (["try", "jumbo", "--timeout", "-5s"], "is not a duration"),
        (["probe", "10.0.0.2", "-t", "-5"], "is not a duration"),
        (["probe", "10.0.0.2", "-P", "-3"], "from 1 to 128"),
        // 1 ms gave intervals of about 51 ms (the loop beside the streams looks every 50 ms).
        (["probe", "10.0.0.2", "-i", "1ms"], "is shorter than 100 ms, the shortest interval (as iperf3's -i)"),
        (["probe", "10.0.0.2", "--size", "-1MiB"], "is not a size"),
        (["serve", "--port", "-1"], "from 0 to 65535"),
        (["serve", "--port", "65536"], "from 0 to 65535"),
        (["apply", "x", "--probe", "h:1", "--pairs", "1"], "from 2 to 1000"),
        (["export", "x", "--format", "networkd", "--interface", "../../etc/x"], "not an interface name"),
        (["revert", "--state-dir", ""], "empty path")
    ])
    func refusedWithTheToolsExplanation(arguments: [String], explanation: String) {
        do {
            _ = try NetTuneCommand.parseAsRoot(arguments)
            Issue.record("\(arguments) parsed")
        } catch {
            let message = NetTuneCommand.message(for: error)
            #expect(message.contains(explanation), "\(message)")
            #expect(NetTuneCommand.exitCode(for: error).rawValue == 64)
        }
    }

    /// iperf3's short options mean the same here: `probe HOST -t 10 -i 1 -C cubic -B ADDR -J`.
    @Test func iperf3sShortOptionsAreTheLongOnes() throws {
        let short = try #require(
            try NetTuneCommand.parseAsRoot(["probe", "h", "-t", "10", "-i", "0.5", "-C", "cubic", "-B", "10.0.0.1", "-J", "-P", "2", "-R"])
                as? NetTuneCommand.Probe)
        #expect(short.probe.time?.duration == .seconds(10))
        #expect(short.interval?.duration == .milliseconds(500))
        #expect(short.probe.congestion == "cubic")
        #expect(short.probe.bind == "10.0.0.1")
        #expect(short.output.json)
        #expect(short.probe.parallel == 2)
        #expect(short.ways.reverse)
        let apply = try #require(
            try NetTuneCommand.parseAsRoot(["apply", "pi-lan", "--probe", "h", "-t", "3", "-C", "reno"]) as? NetTuneCommand.Apply)
        #expect(apply.probeOptions.time?.duration == .seconds(3))
        #expect(apply.probeOptions.congestion == "reno")
    }

    @Test func aRelativeStateDirectoryIsTakenFromTheCurrentDirectory() throws {
        let command = try #require(try NetTuneCommand.parseAsRoot(["revert", "--state-dir", "rel/state"]) as? NetTuneCommand.Revert)
        let directory = try command.state.snapshots.directory
        #expect(directory.isAbsolute)
        #expect(directory.string.hasSuffix("/rel/state"))
        #expect(directory.string == FileManager.default.currentDirectoryPath + "/rel/state")
    }
}

@Suite struct ProfileInputTests {
    private func parse(_ sysctl: String) -> ProfileError? {
        #expect(throws: ProfileError.self) {
            try ProfileParser.parse("version = 1\ndescription = \"x\"\n[sysctl]\n" + sysctl + "\n", name: "t", path: "t.toml")
        }
    }

    @Test(arguments: [
        ("net.ipv4.tcp_mtu_probing = \"1 2\"", "takes one integer, not '1 2'"),
        ("net.ipv4.ip_local_port_range = \"40000 50000 60000\"", "takes 2 integers"),
        ("net.ipv4.tcp_congestion_control = \"reno cubic\"", "takes one name"),
        ("net.ipv4.tcp_wmem = \"4096 16384\"", "takes 3 integers"),
        ("net.core.rmem_max = \"lots\"", "takes one integer")
    ])
    func fieldCountsOfKnownKeysAreChecked(line: String, problem: String) {
        let error = parse(line)
        #expect(error?.kind == .badValue)
        #expect(error?.description.contains(problem) == true, "\(String(describing: error))")
        #expect(error?.line == 4)
    }

    @Test func unknownKeysAreLeftToTheReadBackCheck() throws {
        _ = try ProfileParser.parse("version = 1\ndescription = \"x\"\n[sysctl]\nnet.ipv4.some_new_knob = \"1 2\"\n", name: "t", path: "t.toml")
    }

    @Test func aFractionalMTUIsNotEchoedAsAFloat() {
        let error = #expect(throws: ProfileError.self) {
            try ProfileParser.parse("version = 1\ndescription = \"x\"\n[link]\nmtu = 1.5e3\n", name: "t", path: "t.toml")
        }
        #expect(error?.description.contains("must be a whole number of bytes") == true, "\(String(describing: error))")
        #expect(error?.description.contains("1500.0") == false)
    }

    @Test func fifosDevicesAndHugeFilesAreRefusedQuickly() throws {
        let dir = try TemporaryDirectory()
        let library = ProfileLibrary(searchPath: ProfileSearchPath([.init(dir.path, .commandLine)]))
        #expect(mkfifo(dir.path + "/fifo.toml", 0o600) == 0)
        let fifo = #expect(throws: ProfileError.self) { try library.resolve(dir.path + "/fifo.toml") }
        #expect(fifo?.description.contains("not a regular file") == true)
        let zero = #expect(throws: ProfileError.self) { try library.resolve("/dev/zero") }
        #expect(zero?.description.contains("not a regular file") == true)
        try dir.write("big.toml", "# " + String(repeating: "x", count: 300 << 10) + "\nversion = 1\ndescription = \"x\"\n")
        let big = #expect(throws: ProfileError.self) { try library.resolve("big") }
        #expect(big?.description.contains("larger than 256 KiB") == true)
    }

    private func profile(includes: [String]) -> String {
        "version = 1\ndescription = \"x\"\ninclude = [" + includes.map { "\"\($0)\"" }.joined(separator: ", ") + "]\n"
    }

    @Test func aHistoryThatIsNotAFileIsRefused() {
        let error = #expect(throws: FileError.self) { try HistoryStore(path: "/dev/zero").entries() }
        #expect(error?.reason == .notRegular)
    }

    @Test func deepIncludeChainsStopAtTheLimit() throws {
        let dir = try TemporaryDirectory()
        for i in 0..<100 { try dir.write("p\(i).toml", profile(includes: i == 99 ? [] : ["p\(i + 1)"])) }
        let library = ProfileLibrary(searchPath: ProfileSearchPath([.init(dir.path, .commandLine)]))
        let error = #expect(throws: ProfileError.self) { try library.resolve("p0") }
        #expect(error?.kind == .includeTooDeep)
        #expect(error?.description.contains("deeper than 32 levels") == true)
        _ = try library.resolve("p80")  // 19 levels: fine
    }

    /// 22 files each including the next twice is 2^22 resolutions without sharing.
    @Test(.timeLimit(.minutes(1)))
    func sharedIncludesAreResolvedOnce() throws {
        let dir = try TemporaryDirectory()
        for i in 0..<22 {
            try dir.write("d\(i).toml", profile(includes: i == 21 ? [] : ["d\(i + 1)", "d\(i + 1)"]))
        }
        let library = ProfileLibrary(searchPath: ProfileSearchPath([.init(dir.path, .commandLine)]))
        let started = ContinuousClock.now
        _ = try library.resolve("d0")
        #expect(ContinuousClock.now - started < .seconds(2))
    }

    @Test func aCycleNamesOnlyTheFilesInIt() throws {
        let dir = try TemporaryDirectory()
        try dir.write("a.toml", profile(includes: ["b"]))
        try dir.write("b.toml", profile(includes: ["c"]))
        try dir.write("c.toml", profile(includes: ["b"]))
        let library = ProfileLibrary(searchPath: ProfileSearchPath([.init(dir.path, .commandLine)]))
        let error = #expect(throws: ProfileError.self) { try library.resolve("a") }
        #expect(error?.message == "include cycle: b → c → b")
        // And `profiles` does not list a profile that cannot resolve as usable.
        let entry = try #require(library.entries().first { $0.name == "a" })
        if case .success = entry.summary { Issue.record("a profile with an include cycle is listed as usable") }
    }
}

@Suite struct SysctlMessageTests {
    @Test func anUnknownCongestionControlIsNamedAsSuch() {
        let error = SysctlError(.write, key: .tcpCongestionControl, value: "cubci", errno: .noSuchFileOrDirectory)
        #expect(error.description.contains("'cubci' is not a congestion control this kernel has"))
        #expect(!error.description.contains("does not exist on this kernel"))
    }

    @Test func aWriteOnlyKeyIsNotAPrivilegeProblem() throws {
        let dir = try TemporaryDirectory()
        try dir.write("net/ipv4/route/flush", "")
        #expect(chmod(dir.path + "/net/ipv4/route/flush", 0o200) == 0)
        let store = ProcSysStore(root: FilePath(dir.path))
        let key = try SysctlKey("net.ipv4.route.flush")
        if getuid() == 0 {
            // Root reads any file here; the mode alone tells.
            #expect(store.isWritable(key))
        } else {
            let error = #expect(throws: SysctlError.self) { try store.read(key) }
            #expect(error?.description.contains("write-only") == true)
            #expect(error?.description.contains("needs root") == false)
        }
    }

    @Test func aMissingKeyAndARefusedValueAreToldApart() {
        let missing = SysctlError(.open, key: .tcpMtuProbing, value: "1", errno: .noSuchFileOrDirectory)
        #expect(missing.description.contains("does not exist on this kernel"))
        let refused = SysctlError(.write, key: .tcpMtuProbing, value: "1", errno: .noSuchFileOrDirectory)
        #expect(refused.description.contains("the kernel refused the value"))
    }
}

@Suite struct PeerInputTests {
    @Test func controlCharactersNeverReachTheTerminal() {
        let hostile = "busy\u{1B}]0;owned\u{07}\u{1B}[2J\r\nrm -rf /\u{202E}txt.exe\u{9B}31m"
        let clean = PeerText.sanitized(hostile)
        #expect(!clean.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) || $0 == "\u{202E}" })
        #expect(clean.hasPrefix("busy?]0;owned??[2J??rm -rf /?txt.exe"))
        #expect(PeerText.sanitized(String(repeating: "a", count: 5000)).count == 513)
    }

    private func result(
        user: UInt64 = 10_000_000, system: UInt64 = 20_000_000, busy: UInt64 = 500_000_000,
        softirq: UInt64 = 100_000_000, total: UInt64 = 2_000_000_000
    ) -> ResultMessage {
        var result = ResultMessage(ok: true)
        result.cpuUserNanoseconds = user
        result.cpuSystemNanoseconds = system
        result.hostBusyNanoseconds = busy
        result.hostSoftirqNanoseconds = softirq
        result.hostTotalNanoseconds = total
        return result
    }

    @Test func plausibleServerFiguresPass() throws {
        let cpu = try PeerFigures.cpu(of: result(), elapsed: 1.0, endpoint: Endpoint(host: "h", port: 1))
        #expect(cpu.processSeconds == 0.03)
    }

    @Test(arguments: [
        (UInt64.max / 2, UInt64(0), UInt64(500_000_000), UInt64(2_000_000_000)),  // as absurd as the reported case
        (UInt64(0), UInt64(3_000_000_000), UInt64(500_000_000), UInt64(2_000_000_000)),  // more than the host
        (UInt64(0), UInt64(0), UInt64(5_000_000_000), UInt64(2_000_000_000)),  // busy above total
        (UInt64(0), UInt64(0), UInt64(0), UInt64.max)  // a million CPUs
    ])
    func impossibleServerFiguresAreRefused(user: UInt64, system: UInt64, busy: UInt64, total: UInt64) {
        let error = #expect(throws: ProbeFailedError.self) {
            try PeerFigures.cpu(
                of: result(user: user, system: system, busy: busy, softirq: 0, total: total), elapsed: 1.0,
                endpoint: Endpoint(host: "h", port: 1))
        }
        #expect(error?.message.contains("impossible figures") == true)
    }

    @Test func aStreamMustMoveWhatTheServerSaysAndWithinTheRun() throws {
        let endpoint = Endpoint(host: "h", port: 1)
        let report = StreamReport(index: 0, direction: .send, bytes: 1000, nanoseconds: 500_000_000, receiveBuffer: 0, sendBuffer: 0, tcpInfo: nil)
        #expect(try PeerFigures.stream(report, moved: 1000, localSeconds: 0.6, elapsed: 0.6, direction: .send, endpoint: endpoint).seconds == 0.5)
        #expect(throws: ProbeFailedError.self) {
            try PeerFigures.stream(report, moved: 999, localSeconds: 0.6, elapsed: 0.6, direction: .send, endpoint: endpoint)
        }
        var late = report
        late.nanoseconds = 5_000_000_000
        #expect(throws: ProbeFailedError.self) {
            try PeerFigures.stream(late, moved: 1000, localSeconds: 0.6, elapsed: 0.6, direction: .send, endpoint: endpoint)
        }
        // A receive stream is timed here, where its bytes arrived.
        let out = StreamReport(index: 1, direction: .receive, bytes: 1000, nanoseconds: 100, receiveBuffer: 0, sendBuffer: 0, tcpInfo: nil)
        #expect(try PeerFigures.stream(out, moved: 1000, localSeconds: 0.7, elapsed: 0.8, direction: .receive, endpoint: endpoint).seconds == 0.7)
    }

    /// A stream of a read or two has no time of its own: it takes the run's (go to
    /// the result). A server claiming a rate no link has, even then, is refused.
    @Test func aStreamTooShortToTimeTakesTheRunsTimeAndAnImpossibleRateIsRefused() throws {
        let endpoint = Endpoint(host: "h", port: 1)
        let tiny = StreamReport(index: 0, direction: .send, bytes: 16384, nanoseconds: 14, receiveBuffer: 0, sendBuffer: 0, tcpInfo: nil)
        #expect(try PeerFigures.stream(tiny, moved: 16384, localSeconds: 0, elapsed: 0.0004, direction: .send, endpoint: endpoint).seconds == 0.0004)
        // 40 GB in 2 ms (160 Tbit/s), and no longer by the client's clock either.
        let boast = StreamReport(
            index: 0, direction: .send, bytes: 40_000_000_000, nanoseconds: 2_000_000, receiveBuffer: 0, sendBuffer: 0, tcpInfo: nil)
        let error = #expect(throws: ProbeFailedError.self) {
            try PeerFigures.stream(boast, moved: 40_000_000_000, localSeconds: 0.001, elapsed: 0.003, direction: .send, endpoint: endpoint)
        }
        #expect(error?.message.contains("impossible figures (stream 0: 40000000000 bytes in 0.002 s)") == true)
        #expect(PeerFigures.streamSeconds(bytes: 1 << 30, seconds: 0.5, fallback: 9) == 0.5)
        #expect(PeerFigures.streamSeconds(bytes: 0, seconds: 0, fallback: 0) == 0)
    }
}

@Suite struct DontFragmentPingTests {
    @Test func echoRequestsCarryAValidChecksumAndTheirSize() {
        let packet = DontFragmentPing.echoRequest(identifier: 0x1234, sequence: 7, payload: 9000 - 28, isV6: false)
        #expect(packet.count == 9000 - 20)
        #expect(packet[0] == 8)
        #expect(DontFragmentPing.internetChecksum(packet) == 0)  // a valid checksum sums to zero
        let v6 = DontFragmentPing.echoRequest(identifier: 1, sequence: 1, payload: 1452, isV6: true)
        #expect(v6[0] == 128 && v6.count == 1460)
    }

    @Test func onlyOurReplyCounts() {
        var reply: [UInt8] = [0x45] + [UInt8](repeating: 0, count: 19) + [0, 0, 0, 0, 0x12, 0x34, 0, 7]
        #expect(DontFragmentPing.isReply(reply, identifier: 0x1234, sequence: 7, isV6: false))
        #expect(!DontFragmentPing.isReply(reply, identifier: 0x1234, sequence: 8, isV6: false))
        reply[20] = 8  // a request, not a reply
        #expect(!DontFragmentPing.isReply(reply, identifier: 0x1234, sequence: 7, isV6: false))
        #expect(!DontFragmentPing.isReply([0x45, 0, 0], identifier: 0, sequence: 0, isV6: false))
        #expect(DontFragmentPing.isReply([129, 0, 0, 0, 0, 1, 0, 1], identifier: 1, sequence: 1, isV6: true))
    }
}

@Suite struct DeadlineTests {
    @Test func aWaitEndsAtTheDeadline() throws {
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        defer {
            close(ends[0])
            close(ends[1])
        }
        let started = ContinuousClock.now
        #expect(try Deadline.after(.milliseconds(100)).wait(for: Int16(POLLIN), on: ends[0]) == false)
        #expect(ContinuousClock.now - started >= .milliseconds(100))
    }

    @Test func aSignalEndsAWaitWithoutADeadline() throws {
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        defer {
            close(ends[0])
            close(ends[1])
        }
        let interruption = try Interruption.manual()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.05) { interruption.trigger(SIGTERM) }
        let error = #expect(throws: Interrupted.self) { try Deadline(nil, interruption: interruption).wait(for: Int16(POLLIN), on: ends[0]) }
        #expect(error?.signal == SIGTERM)
        #expect(error?.exitCode == 143)
        // And it stays interrupted: every later wait ends at once.
        #expect(throws: Interrupted.self) { try Deadline.after(.seconds(60), interruption: interruption).sleep() }
    }

    @Test func aReadyDescriptorIsReportedAtOnce() throws {
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        defer {
            close(ends[0])
            close(ends[1])
        }
        var byte: UInt8 = 1
        #expect(write(ends[1], &byte, 1) == 1)
        #expect(try Deadline.after(.seconds(60)).wait(for: Int16(POLLIN), on: ends[0]))
    }

    /// A deadline that has passed still looks once: `Deadline.after(.zero)` is how
    /// the iperf3 client asks whether the server has spoken during a test, and how
    /// its server asks whether a client hung up while the payload is read in.
    @Test func aPassedDeadlineStillLooksOnce() throws {
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        defer {
            close(ends[0])
            close(ends[1])
        }
        #expect(try Deadline.after(.zero).wait(for: Int16(POLLIN), on: ends[0]) == false)
        #expect(try Deadline.after(.zero).waitReadable([ends[0]]).isEmpty)
        var byte: UInt8 = 1
        #expect(write(ends[1], &byte, 1) == 1)
        #expect(try Deadline.after(.zero).wait(for: Int16(POLLIN), on: ends[0]))
        #expect(try Deadline(.now - .seconds(1)).waitReadable([ends[1], ends[0]]) == [1])
    }
}
