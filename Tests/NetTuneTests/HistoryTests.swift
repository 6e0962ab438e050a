import Foundation
import SystemPackage
import Testing

@testable import NetTune
@testable import NetTuneCommands

@Suite struct HistoryTests {
    func report(_ throughputs: [Double], peer: String = "10.0.0.2:9000") -> ProbeReport {
        let cpu = CPUUsage(userSeconds: 0, systemSeconds: 0.1, hostBusySeconds: 0.2, hostSoftirqSeconds: 0, hostTotalSeconds: 2)
        let runs = throughputs.map { bps in
            RunResult(
                method: .sendfile, bytes: 1 << 30, seconds: Double(1 << 30) * 8 / bps, sender: cpu, receiver: cpu,
                tcpInfo: TCPInfo(kernelBytes: []), intervals: [], congestion: "bbr", sendBufferBytes: 0, receiveBufferBytes: 0)
        }
        return ProbeReport(
            peer: try! Endpoint(parsing: peer), methods: [.sendfile], payloadBytes: 1 << 30, payloadPath: "/p",
            kernel: "6.18", congestion: "bbr", egressInterface: "eth0", mtu: 1500, runs: runs)
    }

    func fingerprint(_ wmem: String, profiles: [String] = []) -> TuningFingerprint {
        TuningFingerprint(
            sysctls: ["net.ipv4.tcp_wmem": wmem], interface: "eth0", mtu: 1500, kernel: "6.18",
            peer: "10.0.0.2:9000", profiles: profiles)
    }

    @Test func fingerprintsIdentifyTheTuningNotTheLabel() {
        #expect(fingerprint("4096 16384 4194304").id == fingerprint("4096 16384 4194304", profiles: ["pi-lan"]).id)
        #expect(fingerprint("4096 16384 4194304").id != fingerprint("4096 4096 4096").id)
        #expect(fingerprint("4096 16384 4194304").id.count == 8)
        #expect(fingerprint("1 2 3", profiles: ["kernel-default", "pi-lan"]).label == "pi-lan")
        #expect(fingerprint("1 2 3").label.hasPrefix("fingerprint "))
    }

    @Test func appendsReadsAndFindsTheBaselineUnderDifferentTuning() throws {
        let dir = try TemporaryDirectory()
        let store = HistoryStore(path: FilePath(dir.path + "/sub/history.jsonl"))
        let old = HistoryEntry(report: report([1e9, 1.02e9, 0.98e9]), method: .sendfile, fingerprint: fingerprint("4096 4096 4096"), time: 100)
        let same = HistoryEntry(report: report([2e9, 2e9, 2e9]), method: .sendfile, fingerprint: fingerprint("4096 16384 4194304"), time: 200)
        let otherPeer = HistoryEntry(
            report: report([5e9, 5e9], peer: "10.0.0.3:9000"), method: .sendfile,
            fingerprint: fingerprint("1 2 3"), time: 250)
        try store.append(old)
        try store.append(same)
        try store.append(otherPeer)
        // A damaged line is skipped, not fatal.
        try FileHandle(forWritingTo: URL(fileURLWithPath: store.path.string)).seekToEndAndWrite("{not json\n")
        #expect(try store.entries().count == 3)

        let now = HistoryEntry(report: report([2.1e9, 2.0e9, 2.05e9]), method: .sendfile, fingerprint: fingerprint("4096 16384 4194304"), time: 300)
        let baseline = try #require(try store.baseline(for: now))
        #expect(baseline.time == 100)  // not the entry under the same tuning, nor the other peer's
        let change = try #require(BaselineChange(current: now, baseline: baseline))
        #expect(change.throughputRatio > 1.9)
        #expect(change.verdict == .better)
    }

    /// A line cut short (the power went during the write, or the disk filled) has no
    /// newline: the next entry was glued to it and lost with it — a weekly probe's
    /// only entry of the week.
    @Test func anEntryAppendedAfterALineCutShortIsKept() throws {
        let dir = try TemporaryDirectory()
        let store = HistoryStore(path: FilePath(dir.path + "/history.jsonl"))
        let first = HistoryEntry(report: report([1e9]), method: .sendfile, fingerprint: fingerprint("4096 4096 4096"), time: 100)
        let next = HistoryEntry(report: report([2e9]), method: .sendfile, fingerprint: fingerprint("4096 4096 4096"), time: 200)
        try store.append(first)
        try FileHandle(forWritingTo: URL(fileURLWithPath: store.path.string)).seekToEndAndWrite("{\"time\":150,\"thr")
        try store.append(next)
        let contents = try store.read()
        #expect(contents.entries.map(\.time) == [100, 200])
        #expect(contents.skipped == 1)
    }

    /// A report of two methods: each method's entry is judged against its own
    /// method's baseline, and the first one's change is returned.
    @Test func recordingSeveralMethodsJudgesEachAgainstItsOwnBaseline() throws {
        let dir = try TemporaryDirectory()
        let store = HistoryStore(path: FilePath(dir.path + "/history.jsonl"))
        func report(sendfile: [Double], readwrite: [Double]) -> ProbeReport {
            var both = self.report(sendfile)
            both.methods = [.sendfile, .readwrite]
            both.runs += self.report(readwrite).runs.map { run in
                var run = run
                run.method = .readwrite
                return run
            }
            return both
        }
        let before = report(sendfile: [1e9, 1.02e9, 0.98e9], readwrite: [2e9, 2.02e9, 1.98e9])
        #expect(try store.record(before, fingerprint: fingerprint("4096 4096 4096"), time: 100) == nil)
        // After a change: sendfile twice as fast, read/write half as fast.
        let after = report(sendfile: [2.1e9, 2.0e9, 2.05e9], readwrite: [1e9, 1.01e9, 0.99e9])
        let change = try #require(try store.record(after, fingerprint: fingerprint("4096 16384 4194304"), time: 200))
        #expect(change.verdict == .better && change.throughputRatio > 1.9)
        let entries = try store.entries()
        #expect(entries.count == 4)
        #expect(entries.map(\.method) == ["sendfile", "readwrite", "sendfile", "readwrite"])
        #expect(entries.map(\.verdict) == [nil, nil, .better, .worse])
    }

    @Test func unpairedIntervalsUseBothSpreads() throws {
        let c = try #require(Comparison(unpairedA: [100, 102, 98, 101], b: [103, 105, 101, 104]))
        #expect(c.ratio > 1.02 && c.ratio < 1.04)
        #expect(c.lower < c.ratio && c.ratio < c.upper)
        #expect(Comparison(unpairedA: [1], b: [1, 2]) == nil)
        let same = try #require(Comparison(unpairedA: [100, 102, 98], b: [101, 99, 100]))
        #expect(same.verdict() == .noDifference)
    }
}

extension FileHandle {
    func seekToEndAndWrite(_ text: String) throws {
        try seekToEnd()
        try write(contentsOf: Data(text.utf8))
        try close()
    }
}

@Suite struct HistoryBothEndsTests {
    let base = TuningFingerprint(
        sysctls: ["net.ipv4.tcp_wmem": "4096 16384 4194304"], interface: "eth0", mtu: 1500, kernel: "6.18",
        peer: "10.0.0.2:9000", profiles: [])

    /// A change on the server is a change against the baseline.
    @Test func theServersTuningIsPartOfTheFingerprint() {
        var a = base, b = base
        a.remote = TuningState(tcpRmem: "4096 131072 6291456", version: "0.1.0")
        b.remote = TuningState(tcpRmem: "4096 4096 4096", version: "0.1.0")
        #expect(a.id != b.id)
        // The server's software version alone is not tuning.
        var c = a
        c.remote?.version = "0.2.0"
        #expect(a.id == c.id)
        // Entries from before the server reported anything keep their id.
        #expect(
            base.id
                == TuningFingerprint(
                    sysctls: base.sysctls, interface: "eth0", mtu: 1500, kernel: "6.18",
                    peer: "10.0.0.2:9000", profiles: ["pi-lan"]
                ).id)
    }

    @Test func aPeerIsFoundAsAPersonNamesIt() throws {
        let dir = try TemporaryDirectory()
        let store = HistoryStore(path: FilePath(dir.path + "/history.jsonl"))
        for peer in ["nas.lan:9000", "nas.lan:9100", "iperf3://nas.lan:5201", "10.0.0.3:9000"] {
            try store.append(
                HistoryEntry(
                    report: HistoryTests().report([1e9], peer: peer), method: .sendfile, fingerprint: HistoryTests().fingerprint("1 2 3"), time: 1))
        }
        func peers(_ text: String) throws -> [String] { try store.entries(forPeer: text).map(\.peer) }
        #expect(try peers("nas.lan") == ["nas.lan:9000", "nas.lan:9100", "iperf3://nas.lan:5201"])
        #expect(try peers("NAS.lan:9100") == ["nas.lan:9100"])
        #expect(try peers("iperf3://nas.lan") == ["iperf3://nas.lan:5201"])
        #expect(try peers("nas.lan:9000") == ["nas.lan:9000"])
        #expect(try peers("10.0.0.3") == ["10.0.0.3:9000"])
        #expect(try peers("10.0.0.4").isEmpty)
        #expect(throws: EndpointError.self) { try store.entries(forPeer: "a b") }
    }

    @Test func oldEntriesReadAsSendingOneStream() throws {
        let line =
            #"{"bytes":1,"fingerprint":{"interface":"eth0","kernel":"6.18","mtu":1500,"peer":"p","profiles":[],"sysctls":{}},"fingerprint_id":"1a2b3c4d","method":"sendfile","peer":"p","receiver_cpu_s_per_gib":[1],"sender_cpu_s_per_gib":[1],"throughput_bps":[1],"time":1}"#
        let entry = try JSONDecoder().decode(HistoryEntry.self, from: Data(line.utf8))
        #expect(entry.direction == "send")
        #expect(entry.streams == 1)
        #expect(entry.source == .probe)
    }
}

/// A history file is read from outside: a line whose figures no measurement gives is
/// skipped like a damaged one, and counted, so nothing downstream ever sees it.
@Suite struct ImplausibleHistoryTests {
    static func line(_ change: (inout [String: Any]) -> Void) throws -> String {
        let entry = HistoryEntry(
            report: HistoryTests().report([1e9, 2e9]), method: .sendfile, fingerprint: HistoryTests().fingerprint("1 2 3"), time: 1_800_000_000)
        var object = try #require(try JSONSerialization.jsonObject(with: try JSONEncoder().encode(entry)) as? [String: Any])
        change(&object)
        return String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    }

    static let impossible: [(String, @Sendable (inout [String: Any]) -> Void)] = [
        ("a rate beyond any link", { $0["throughput_bps"] = [1e308, 1e9] }),
        ("a negative rate", { $0["throughput_bps"] = [-1, 1e9] }),
        ("negative CPU", { $0["sender_cpu_s_per_gib"] = [-0.5, 0.1] }),
        ("fewer CPU figures than runs", { $0["receiver_cpu_s_per_gib"] = [0.1] }),
        ("negative retransmits", { $0["retransmits"] = [-1, 0] }),
        ("a time before 1970", { $0["time"] = -1 }),
        ("a time after 9999", { $0["time"] = Int.max }),
        ("no streams", { $0["streams"] = 0 }),
        ("a negative size", { $0["bytes"] = -1 }),
        ("an unknown method", { $0["method"] = "carrier-pigeon" }),
        ("an unknown direction", { $0["direction"] = "sideways" }),
        ("a peer with an escape sequence", { $0["peer"] = "10.0.0.2:9000\u{1B}[2J" }),
        ("a bottleneck that is not a name", { $0["bottleneck"] = "<b>cpu</b>" }),
        ("a fingerprint id that is not hex", { $0["fingerprint_id"] = "<script>" }),
        (
            "a profile name with a control character",
            { entry in
                var fingerprint = entry["fingerprint"] as? [String: Any] ?? [:]
                fingerprint["profiles"] = ["pi-lan\u{7}"]
                entry["fingerprint"] = fingerprint
            }
        )
    ]

    @Test func impossibleLinesAreSkippedAndCounted() throws {
        let dir = try TemporaryDirectory()
        let lines = try [Self.line { _ in }] + Self.impossible.map { try Self.line($0.1) }
        try dir.write("history.jsonl", lines.joined(separator: "\n") + "\n")
        let store = HistoryStore(path: FilePath(dir.path + "/history.jsonl"))
        let contents = try store.read()
        #expect(contents.entries.count == 1)
        #expect(contents.skipped == Self.impossible.count)
        #expect(try store.read(forPeer: "10.0.0.2").skipped == Self.impossible.count)
        for (what, change) in Self.impossible {
            #expect(throws: DecodingError.self, "\(what)") { try JSONDecoder().decode(HistoryEntry.self, from: Data(try Self.line(change).utf8)) }
        }
    }

    @Test func anImpossibleLineIsNoBaseline() throws {
        let dir = try TemporaryDirectory()
        try dir.write("history.jsonl", try Self.line { $0["throughput_bps"] = [1e300, 1e300] } + "\n")
        let store = HistoryStore(path: FilePath(dir.path + "/history.jsonl"))
        let now = HistoryEntry(
            report: HistoryTests().report([1e9, 1e9]), method: .sendfile, fingerprint: HistoryTests().fingerprint("4 5 6"), time: 2)
        #expect(try store.baseline(for: now) == nil)
    }

    /// What passes the checks renders: figures at the limits trap nowhere.
    @Test func entriesAtTheLimitsRender() throws {
        var entries: [HistoryEntry] = []
        for (time, rate) in [(ResultLimits.time.lowerBound, 0.0), (ResultLimits.time.upperBound, ResultLimits.bitsPerSecond)] {
            var entry = HistoryEntry(
                report: HistoryTests().report([1e9]), method: .sendfile, fingerprint: HistoryTests().fingerprint("1 2 3"), time: time)
            entry.throughputs = [rate]
            entry.senderCPUSecondsPerGiB = [ResultLimits.cpuSecondsPerGiB]
            entries.append(try JSONDecoder().decode(HistoryEntry.self, from: try JSONEncoder().encode(entry)))
        }
        #expect(HistoryTable.render(entries).contains("9999-12-31 23:59  10.0.0.2:9000  probe  sendfile  send  1 GiB  10 Tbit/s"))
        #expect(HistoryMetrics.render(entries).contains("nettune_throughput_bytes_per_second"))
        #expect(HTMLReport.render(ab: nil, probe: nil, history: entries, generated: Date()).contains("</svg>"))
    }
}

/// A history past its size limit (a fleet server's hourly probes, for years) is read
/// from its end: the newest entries, never the whole file, never a failure.
@Suite struct LargeHistoryTests {
    @Test func aTailStartsAtTheNextWholeLine() throws {
        let dir = try TemporaryDirectory()
        try dir.write("f", "abc\ndef\nghi\n")
        let path = FilePath(dir.path + "/f")
        #expect(try TextFile.readTail(path, limit: 100) == (Array("abc\ndef\nghi\n".utf8), false))
        #expect(try TextFile.readTail(path, limit: 6) == (Array("f\nghi\n".utf8), true))
        #expect(throws: FileError.self) { try TextFile.readTail(FilePath("/dev/zero"), limit: 10) }
    }

    @Test func onlyTheNewestPartOfAHugeHistoryIsReadAndThatIsSaid() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/history.jsonl"
        let entry = HistoryEntry(report: HistoryTests().report([1e9]), method: .sendfile, fingerprint: HistoryTests().fingerprint("1 2 3"), time: 5)
        let line = String(decoding: try JSONEncoder().encode(entry), as: UTF8.self)
        // An old line longer than the limit, then two entries: the tail cuts the old one.
        let old = String(repeating: "x", count: HistoryStore.sizeLimit)
        try dir.write("history.jsonl", old + "\n" + line + "\n" + line + "\n")
        let contents = try HistoryStore(path: FilePath(path)).read()
        #expect(contents.entries.count == 2)
        #expect(contents.skipped == 0)
        #expect(contents.olderLeftOut)
        // A file under the limit is read whole.
        try dir.write("small.jsonl", line + "\n")
        #expect(try !HistoryStore(path: FilePath(dir.path + "/small.jsonl")).read().olderLeftOut)
    }
}

@Suite struct HistoryAddressTests {
    @Test func aNameAndTheAddressItResolvedToAreOnePeer() throws {
        let dir = try TemporaryDirectory()
        let store = HistoryStore(path: FilePath(dir.path + "/history.jsonl"))
        var byName = HistoryEntry(
            report: HistoryTests().report([1e9, 1e9], peer: "nas.lan:9000"), method: .sendfile,
            fingerprint: HistoryTests().fingerprint("4096 4096 4096"), time: 1)
        byName.address = "10.0.0.2"
        try store.append(byName)
        var byAddress = HistoryEntry(
            report: HistoryTests().report([2e9, 2e9], peer: "10.0.0.2:9000"), method: .sendfile,
            fingerprint: HistoryTests().fingerprint("4096 16384 4194304"), time: 2)
        byAddress.address = "10.0.0.2"
        #expect(try store.baseline(for: byAddress)?.peer == "nas.lan:9000")
        try store.append(byAddress)
        #expect(try store.entries(forPeer: "10.0.0.2").map(\.peer) == ["nas.lan:9000", "10.0.0.2:9000"])
        // Both ways: the name lists what was typed as its address (`history --peer
        // localhost` missed the runs typed as 127.0.0.1), and another name for it.
        #expect(try store.entries(forPeer: "nas.lan").map(\.peer) == ["nas.lan:9000", "10.0.0.2:9000"])
        var otherName = byAddress
        otherName.peer = "nas:9000"
        try store.append(otherName)
        #expect(try store.entries(forPeer: "nas.lan").map(\.peer) == ["nas.lan:9000", "10.0.0.2:9000", "nas:9000"])
        #expect(try store.entries(forPeer: "nas.lan:9000").count == 3)
        #expect(try store.entries(forPeer: "nas.lan:9100").isEmpty)
        #expect(try store.entries(forPeer: "other.lan").isEmpty)
        // Another port of that address is another server.
        var otherPort = byAddress
        otherPort.peer = "10.0.0.2:9100"
        #expect(!otherPort.samePeer(as: byName))
    }
}

@Suite struct HistoryTableTests {
    @Test func theTuningColumnNamesAFingerprintOnce() {
        let report = HistoryTests().report([1e9])
        let plain = HistoryEntry(report: report, method: .sendfile, fingerprint: HistoryTests().fingerprint("1 2 3"), time: 1)
        #expect(HistoryTable.tuning(plain) == "fingerprint \(plain.fingerprintID)")
        var labelled = HistoryEntry(
            report: report, method: .sendfile, fingerprint: HistoryTests().fingerprint("1 2 3", profiles: ["pi-lan"]), time: 1)
        labelled.source = .applyB
        #expect(HistoryTable.tuning(labelled) == "pi-lan (\(labelled.fingerprintID))")
        let table = HistoryTable.render([plain, labelled])
        #expect(table.contains("A/B: B"))
        #expect(table.contains("probe"))
    }
}
