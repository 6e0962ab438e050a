import Foundation
import Glibc
import SystemPackage
import Testing

@testable import NetTune
@testable import NetTuneCommands

/// The fixtures every workflow test shares: fake sysctls and links, a real state
/// directory, and a tuner over them.
struct WorkflowFixture {
    static let starved = "4096 4096 4096"
    static let normal = "4096 16384 4194304"
    /// Not zero: the integration tests in this process start programs, and a child
    /// holds a copy of every descriptor until its exec closes them — a lock file's
    /// too, so a lock just let go can still look held for that moment.
    static let lockWait = Duration.seconds(2)
    let original: [SysctlKey: String] = [.tcpWmem: starved, .tcpRmem: "4096 131072 6291456", .tcpMtuProbing: "0"]
    let store: FakeSysctlStore
    let links: FakeLinkController
    let state: TemporaryDirectory
    var tuner: Tuner<FakeSysctlStore, FakeLinkController>
    let transport: FakeTransport

    init() throws {
        store = FakeSysctlStore(original)
        links = FakeLinkController(
            [LinkInfo(index: 2, name: "veth0", mtu: 1500, minMTU: 68, maxMTU: 65535, adminUp: true)],
            defaultRoute: "veth0")
        links.addresses = ["10.0.0.1": "veth0"]
        state = try TemporaryDirectory()
        tuner = Tuner(
            store: store, links: links, snapshots: SnapshotStore(directory: FilePath(state.path)), namespace: 42,
            bootConfig: .none, isPrivileged: { true }, now: { 0 }, holder: "test", lockWait: Self.lockWait)
        transport = FakeTransport(store: store, rates: [Self.starved: 0.5e9, Self.normal: 1e9])
    }

    var machine: LocalMachine<FakeSysctlStore, FakeLinkController> {
        LocalMachine(store: store, links: links, sysfsNet: FilePath(state.path + "/nosys"), kernel: "test", snapshots: nil, namespace: nil)
    }

    let restore = Profile(name: "restore", description: "d", sysctls: [.tcpWmem: normal])
    let jumbo = Profile(name: "jumbo", description: "d", link: LinkSettings(mtu: 9000))

    var snapshot: Snapshot? { (try? tuner.snapshots.load(inode: 42)) ?? nil }
}

@Suite struct ABTestTests {
    func test(
        _ f: WorkflowFixture, pairs: Int = 3, warmup: Int = 0, finally: ABTest<FakeSysctlStore, FakeLinkController>.Finally = .keepB,
        interruption: Interruption? = nil
    ) -> ABTest<FakeSysctlStore, FakeLinkController> {
        ABTest(
            tuner: f.tuner, profile: f.restore, transport: f.transport, machine: f.machine,
            payload: PayloadFile(path: "/p", size: 64 << 20), method: .sendfile, pairs: pairs, warmupBytes: warmup,
            finally: finally, interruption: interruption)
    }

    /// Prepared to receive only (no payload made), then the plan needs sending too:
    /// the comparison stops before changing anything, and says why.
    @Test func aComparisonPreparedToReceiveOnlyDoesNotSendFromNothing() throws {
        let f = try WorkflowFixture()
        var ab = test(f)
        ab.payload = .requested(size: 64 << 20)
        let error = #expect(throws: ABTestError.self) { try ab.run() }
        #expect(error.map { "\($0)" }?.contains("now sending needs measuring too; run it again") == true, "\(String(describing: error))")
        #expect(f.transport.runs == 0)
        #expect(f.store.values[.tcpWmem] == WorkflowFixture.starved)
        #expect(f.snapshot == nil)
    }

    @Test func bothSidesGoToTheHistoryUnderTheirOwnFingerprints() throws {
        let f = try WorkflowFixture()
        var ab = test(f, finally: .revert)
        let store = HistoryStore(path: FilePath(f.state.path + "/history.jsonl"))
        ab.history = store
        ab.now = { 1234 }
        _ = try ab.run()
        let entries = try store.entries()
        #expect(entries.map(\.source) == [.applyA, .applyB])
        #expect(entries.allSatisfy { $0.time == 1234 && $0.throughputs.count == 3 })
        let (a, b) = (entries[0], entries[1])
        #expect(a.fingerprint.sysctls["net.ipv4.tcp_wmem"] == WorkflowFixture.starved)
        #expect(b.fingerprint.sysctls["net.ipv4.tcp_wmem"] == WorkflowFixture.normal)
        #expect(a.fingerprintID != b.fingerprintID)
        #expect(b.fingerprint.label == "restore")
        #expect((Statistics.median(b.throughputs) ?? 0) > (Statistics.median(a.throughputs) ?? 0))
    }

    @Test func aHistoryThatCannotBeWrittenIsAWarningNotAFailure() throws {
        let f = try WorkflowFixture()
        var ab = test(f, finally: .revert)
        ab.history = HistoryStore(path: FilePath("/proc/nettune-cannot-write/history.jsonl"))
        let result = try ab.run()
        #expect(result.historyProblem?.contains("not added to the history") == true)
        #expect(result.verdict == .better)
    }

    @Test func aBetterProfileIsKeptWithItsInterval() throws {
        let f = try WorkflowFixture()
        var steps: [String] = []
        // The warm-up and pair 2's first run (B's: the pairs alternate) wait in the server's queue.
        f.transport.waitingAt = [1: 3, 4: 1]
        let result = try test(f, warmup: 1 << 20).run { step in
            switch step {
            case .planned(let plan, let choice): steps.append("plan \(plan.changes.count) \(choice.directions)")
            case .warmup: steps.append("warmup")
            case .run(let pair, let side, _): steps.append("\(pair)\(side.rawValue)")
            case .measured(let pair, let side, _, let throughput): if throughput <= 0 { steps.append("\(pair)\(side.rawValue) unmeasured") }
            case .waiting(let progress): steps.append("queued \(progress.queuePosition ?? 0)")
            }
        }
        #expect(steps == ["plan 1 [NetTune.ProbeDirection.send]", "warmup", "queued 3", "1a", "1b", "2b", "queued 1", "2a", "3a", "3b"])
        #expect(result.verdict == .better)
        let ratio = try #require(result.comparisons[.send]?.throughput?.ratio)
        #expect(ratio > 1.9 && ratio < 2.1)
        #expect(result.keptB)
        #expect(f.store.values[.tcpWmem] == WorkflowFixture.normal)
        #expect(f.transport.limits.first == 1 << 20)
        // A's runs ran starved, B's normal.
        #expect(result.a.runs.allSatisfy { $0.throughputBitsPerSecond < 0.6e9 })
        #expect(result.b.runs.allSatisfy { $0.throughputBitsPerSecond > 0.9e9 })
        #expect(f.snapshot?.sysctls["net.ipv4.tcp_wmem"] == WorkflowFixture.starved)
    }

    /// A machine that speeds up run by run (a cache warming, a neighbour going
    /// quiet) is no verdict: the pairs alternate A B, B A, so the drift falls on
    /// each side in turn. With A always first it made every pair's B/A 1.03×.
    @Test func aSteadyDriftIsNotMistakenForAnEffect() throws {
        let f = try WorkflowFixture()
        f.transport.rates = [:]  // the same rate whatever the tuning
        f.transport.drift = 0.03
        let result = try test(f, pairs: 6, finally: .revert).run()
        let comparison = try #require(result.comparisons[.send]?.throughput)
        #expect(result.verdict == .noDifference, "B/A \(comparison.ratio) [\(comparison.lower), \(comparison.upper)]")
        #expect(abs(comparison.ratio - 1) < 0.01)
    }

    @Test func notBetterIsRevertedWhenAsked() throws {
        let f = try WorkflowFixture()
        f.transport.rates = [:]  // the same rate whatever the tuning
        let result = try test(f, finally: .revertIfNotBetter).run()
        #expect(result.verdict == .noDifference)
        #expect(!result.keptB)
        #expect(f.store.values == f.original)
        #expect(f.snapshot == nil)
    }

    /// A signal during any run — the warm-up, an A run, a B run, the last one — ends
    /// the comparison with A in place and the snapshot file as it was.
    @Test(arguments: 1...7)
    func aSignalDuringAnyRunLeavesA(run: Int) throws {
        let f = try WorkflowFixture()
        let interruption = try Interruption.manual()
        f.transport.interruption = interruption
        f.transport.interruptAt = [run]
        let error = #expect(throws: ABTestError.self) { try test(f, warmup: 1 << 20, interruption: interruption).run() }
        guard case .interrupted(_, let signal) = error else {
            Issue.record("expected an interruption, got \(String(describing: error))")
            return
        }
        #expect(signal == SIGINT)
        #expect(f.store.values == f.original)
        #expect(f.snapshot == nil)
        #expect(f.transport.runs == run)
    }

    /// A signal that arrives between runs (the run itself completed) is seen before
    /// the next step — including after the very last run, where it used to leave B.
    @Test(arguments: 1...6)
    func aSignalBetweenRunsLeavesA(run: Int) throws {
        let f = try WorkflowFixture()
        let interruption = try Interruption.manual()
        f.transport.onRun = { if $0 == run { interruption.trigger(SIGTERM) } }
        let error = #expect(throws: ABTestError.self) { try test(f, interruption: interruption).run() }
        guard case .interrupted(_, let signal) = error else {
            Issue.record("expected an interruption, got \(String(describing: error))")
            return
        }
        #expect(signal == SIGTERM)
        #expect(f.store.values == f.original)
        #expect(f.snapshot == nil)
    }

    /// The warm-up reads the payload into the page cache first, so the first A run
    /// does not read it from the disk; it fails or is interrupted like a run.
    @Test func theWarmUpLoadsThePayloadAndTheResultSaysWhatItFound() throws {
        let f = try WorkflowFixture()
        let cache = PayloadCacheLoad(bytes: 64 << 20, residentBefore: 0, residentAfter: 64 << 20, seconds: 1.5)
        f.transport.payloadCache = cache
        let result = try test(f, warmup: 1 << 20).run()
        #expect(f.transport.payloadLoads == 1)
        #expect(result.a.payloadCache == cache)
        #expect(ABOutput.render(result).contains("payload: 100 % of it was not in the page cache; read before the runs (1.5 s)"))
        #expect(try JSONOutput.encode(ABJSON(result)).contains("\"resident_before_bytes\" : 0"))
    }

    /// The server's reading of its payload before a run (here the first A run of
    /// a receiving comparison) is said once, for both sides.
    @Test func theServersPayloadLoadIsSaid() throws {
        let f = try WorkflowFixture()
        let cache = PayloadCacheLoad(bytes: 256 << 20, residentBefore: 64 << 20, residentAfter: 256 << 20, seconds: 0.25)
        f.transport.peerPayloadCacheAt = [2: cache]
        let profile = Profile(name: "rmem", description: "d", sysctls: [.tcpRmem: "4096 131072 33554432"])
        let result = try ABTest(
            tuner: f.tuner, profile: profile, transport: f.transport, machine: f.machine,
            payload: PayloadFile(path: "/p", size: 64 << 20), method: .sendfile, pairs: 2, warmupBytes: 1 << 20,
            finally: .keepB, interruption: nil
        ).run()
        #expect(result.a.peerPayloadCache == cache)
        #expect(result.b.peerPayloadCache == cache)
        #expect(
            ABOutput.render(result).contains("server payload: 75 % of it was not in its page cache; the server prepared it before the runs (250 ms)"))
        #expect(try JSONOutput.encode(ABJSON(result)).contains("\"peer_payload_cache\" : {"))
    }

    @Test func aPayloadThatCannotBeLoadedOrAnInterruptionLeavesA() throws {
        for failure in [PayloadError.unusable(path: "/p", reason: "gone") as any Error, Interrupted(signal: SIGINT)] {
            let f = try WorkflowFixture()
            f.transport.loadFailure = failure
            let error = #expect(throws: ABTestError.self) { try test(f, warmup: 1 << 20).run() }
            if failure is Interrupted {
                guard case .interrupted(0, SIGINT) = error else {
                    Issue.record("\(String(describing: error))")
                    continue
                }
            } else {
                #expect(error?.description.contains("cannot send /p: gone") == true)
            }
            #expect(f.transport.runs == 0)
            #expect(f.store.values == f.original)
            #expect(f.snapshot == nil)
        }
    }

    /// A comparison that only receives does not send from the payload.
    @Test func aReceivingComparisonDoesNotLoadThePayload() throws {
        let f = try WorkflowFixture()
        let profile = Profile(name: "rmem", description: "d", sysctls: [.tcpRmem: "4096 131072 33554432"])
        _ = try ABTest(
            tuner: f.tuner, profile: profile, transport: f.transport, machine: f.machine,
            payload: PayloadFile(path: "/p", size: 64 << 20), method: .sendfile, pairs: 2, warmupBytes: 1 << 20,
            finally: .keepB, interruption: nil
        ).run()
        #expect(f.transport.payloadLoads == 0)
        #expect(f.transport.directions.allSatisfy { $0 == .receive })
    }

    @Test(arguments: 1...6)
    func aFailedRunLeavesA(run: Int) throws {
        let f = try WorkflowFixture()
        f.transport.failAt = [run]
        let error = #expect(throws: ABTestError.self) { try test(f).run() }
        #expect(error?.description.contains("the original values (A) are in place") == true)
        #expect(f.store.values == f.original)
        #expect(f.snapshot == nil)
    }

    /// bpftune raises tcp_wmem's max by 25 % when a socket nears it — during a probe,
    /// that is. Whatever run it lands in (A B, B A, A B: runs 2, 3 and 6 are B's),
    /// the comparison stops instead of mixing A and B, and says what changed; after
    /// a B run, A's values are put back.
    @Test(arguments: 1...6)
    func anotherTunerChangingASettingStopsTheComparison(run: Int) throws {
        let f = try WorkflowFixture()
        let raised = "4096 20480 5242880"
        f.transport.onRun = { number in if number == run { f.store.values[.tcpWmem] = raised } }
        let duringB = [2, 3, 6].contains(run)
        let pairsDone = (run + 1) / 2 - 1
        let expected = duringB ? WorkflowFixture.normal : WorkflowFixture.starved
        #expect(
            throws: ABTestError.changedUnderneath(
                pairsDone: pairsDone, duringB: duringB, SettingDeparture(target: .sysctl(.tcpWmem), expected: expected, found: raised))
        ) { try test(f).run() }
        var left = f.original
        if !duringB { left[.tcpWmem] = raised }  // as the other tuner left it
        #expect(f.store.values == left)
        #expect(f.snapshot == nil)
        let message = ABTestError.changedUnderneath(
            pairsDone: 1, duringB: true, SettingDeparture(target: .sysctl(.tcpWmem), expected: "1 2 3", found: "1 2 4")
        ).description
        #expect(message.hasPrefix("net.ipv4.tcp_wmem changed during the comparison, not by nettune: B has 1 2 3, 1 2 4 was found"))
        #expect(message.hasSuffix("the original values (A) are in place"))
        let duringA = ABTestError.changedUnderneath(
            pairsDone: 0, duringB: false, SettingDeparture(target: .sysctl(.tcpWmem), expected: "1 2 3", found: "1 2 4")
        ).description
        #expect(duringA.hasSuffix("B is undone, and what that tuner set is left as it is"))
    }

    @Test func failingToGoBackToAKeepsTheSnapshotAndSaysSo() throws {
        let f = try WorkflowFixture()
        // Write calls: 0 applies B, 1 would undo it.
        f.store.failingWriteCalls = [1]
        let error = #expect(throws: ABTestError.self) { try test(f).run() }
        #expect(error?.description.contains("run `nettune revert`") == true)
        #expect(f.snapshot?.sysctls["net.ipv4.tcp_wmem"] == WorkflowFixture.starved)
    }

    @Test func theNamespaceIsLockedWhileItRuns() throws {
        let f = try WorkflowFixture()
        var busy: [Bool] = []
        var impatient = f.tuner
        impatient.lockWait = .zero
        f.transport.onRun = { _ in busy.append((try? impatient.lock()) == nil) }
        _ = try test(f, pairs: 2).run()
        #expect(busy == [true, true, true, true])
        #expect((try? f.tuner.lock()) != nil)
    }

    @Test func nothingToCompareAndBadPairCountsAreRefusedBeforeAnyRun() throws {
        let f = try WorkflowFixture()
        f.store.values[.tcpWmem] = WorkflowFixture.normal
        #expect((#expect(throws: ABTestError.self) { try test(f).run() })?.description.contains("nothing to compare") == true)
        #expect(throws: ABTestError.self) { try test(f, pairs: 1).run() }
        #expect(throws: ABTestError.self) { try test(f, pairs: Int.max).run() }
        #expect(f.transport.runs == 0)
    }
}

@Suite struct DirectionTests {
    func test(
        _ f: WorkflowFixture, _ profile: Profile, directions: [ProbeDirection]? = nil,
        finally: ABTest<FakeSysctlStore, FakeLinkController>.Finally = .keepB
    ) -> ABTest<FakeSysctlStore, FakeLinkController> {
        ABTest(
            tuner: f.tuner, profile: profile, transport: f.transport, machine: f.machine,
            payload: PayloadFile(path: "/p", size: 64 << 20), method: .sendfile, pairs: 3, warmupBytes: 0,
            finally: finally, directions: directions, interruption: nil)
    }

    let rmem = Profile(name: "rmem", description: "d", sysctls: [.tcpRmem: "4096 131072 33554432"])

    /// A tcp_rmem change acts on what this machine receives: that is what is measured.
    @Test func aReceiveBufferChangeIsMeasuredReceiving() throws {
        let f = try WorkflowFixture()
        f.store.values[.tcpRmem] = "4096 4096 4096"
        f.transport.rates = ["4096 4096 4096": 0.4e9, "4096 131072 33554432": 1e9]
        let result = try test(f, rmem).run()
        #expect(result.choice.directions == [.receive])
        #expect(result.choice.reasons == ["net.ipv4.tcp_rmem sizes what this machine receives: measured receiving"])
        #expect(Set(f.transport.directions) == [.receive])
        #expect(result.comparisons[.receive]?.verdict == .better)
        #expect(result.comparisons[.send] == nil)
        #expect(result.verdict == .better)
    }

    @Test func anMTUChangeIsMeasuredBothWays() throws {
        let f = try WorkflowFixture()
        let result = try test(f, f.jumbo).run()
        #expect(result.choice.directions == [.send, .receive])
        #expect(f.transport.directions.count == 12)  // 3 pairs × A, B × both ways
        #expect(result.a.runs.count == 6)
    }

    @Test func forcingADirectionAProfileCannotAffectIsSaid() throws {
        let choice = DirectionChoice(
            plan: Plan(profile: "rmem", changes: [Change(.sysctl(.tcpRmem), from: "1 2 3", to: "4 5 6")]),
            forced: [.send])
        #expect(choice.directions == [.send])
        #expect(choice.warning == "the profile changes only what acts receiving: measuring sending cannot show its effect")
        #expect(
            DirectionChoice(
                plan: Plan(profile: "x", changes: [Change(.sysctl(.tcpRmem), from: "1 2 3", to: "4 5 6")]),
                forced: [.both]
            ).warning == nil)
    }

    /// Better only when some direction is better and none is worse.
    @Test func oneWorseDirectionMakesTheWholeWorseAndIsNotKept() throws {
        let f = try WorkflowFixture()
        let both = Profile(name: "both", description: "d", sysctls: [.tcpWmem: WorkflowFixture.normal, .tcpRmem: "4096 8192 8192"])
        f.transport.rates = [WorkflowFixture.starved: 0.5e9, WorkflowFixture.normal: 1e9, "4096 131072 6291456": 1e9, "4096 8192 8192": 0.3e9]
        let result = try test(f, both, finally: .revertIfNotBetter).run()
        #expect(result.comparisons[.send]?.verdict == .better)
        #expect(result.comparisons[.receive]?.verdict == .worse)
        #expect(result.verdict == .worse)
        #expect(!result.keptB)
        #expect(f.store.values == f.original)
    }
}

@Suite struct TryWorkflowTests {
    struct FakePeerCheck: PeerChecking {
        var peer = Endpoint(host: "10.0.0.2", port: 9000)
        var result: Result<PeerCheckReport, any Error>
        /// What `prepare` throws, before anything is applied.
        var unprepared: (any Error)?
        func prepare() throws { if let unprepared { throw unprepared } }
        func check(after plan: Plan) throws -> PeerCheckReport { try result.get() }
    }

    /// `try --peer NAME` whose name does not resolve (or whose name server does not
    /// answer) changed the MTU first and found out after; now nothing is applied.
    @Test func aPeerThatCannotBeFoundStopsTheTryBeforeAnyChange() throws {
        let f = try WorkflowFixture()
        let unresolvable = PeerNotFoundError(cause: .unresolvable(host: "backup.lan", reason: "Name or service not known"))
        let peer = FakePeerCheck(result: .success(PeerCheckReport(bytes: 1, seconds: 1, pmtu: 1500)), unprepared: unresolvable)
        var events = 0
        let error = #expect(throws: PeerNotFoundError.self) { try workflow(f, peer: peer).run { _ in events += 1 } }
        #expect(error?.description == "cannot resolve 'backup.lan': Name or service not known; nothing was changed")
        #expect(events == 0)
        #expect(f.links.current[0].mtu == 1500)
        #expect(f.snapshot == nil)
    }

    func workflow(
        _ f: WorkflowFixture, timeout: Duration = .milliseconds(300), peer: (any PeerChecking)? = nil,
        interruption: Interruption? = nil
    ) -> TryWorkflow<FakeSysctlStore, FakeLinkController> {
        TryWorkflow(tuner: f.tuner, profile: f.jumbo, timeout: timeout, peerCheck: peer, terminal: nil, interruption: interruption)
    }

    @Test func unconfirmedItRevertsAtTheTimeout() throws {
        let f = try WorkflowFixture()
        var sawMTU: Int?
        var events: [String] = []
        let result = try workflow(f).run { event in
            switch event {
            case .planned: events.append("planned")
            case .waiting:
                events.append("waiting")
                sawMTU = f.links.current[0].mtu
            default: break
            }
        }
        #expect(events == ["planned", "waiting"])
        #expect(sawMTU == 9000)
        #expect(result.outcome == .reverted(.timedOut))
        #expect(f.links.current[0].mtu == 1500)
        #expect(f.snapshot == nil)
        #expect(!FileManager.default.fileExists(atPath: f.state.path + "/netns-42.try"))
    }

    @Test func aConfirmationKeepsIt() throws {
        let f = try WorkflowFixture()
        let flow = workflow(f, timeout: .seconds(30))
        let result = try flow.run { event in
            if case .waiting = event { _ = try? flow.marker.confirm() }
        }
        #expect(result.outcome == .kept(by: "nettune confirm"))
        #expect(f.links.current[0].mtu == 9000)
        #expect(f.snapshot?.mtus == ["veth0": 1500])
    }

    @Test func aSignalWhileWaitingReverts() throws {
        let f = try WorkflowFixture()
        let interruption = try Interruption.manual()
        let result = try workflow(f, timeout: .seconds(30), interruption: interruption).run { event in
            if case .tick = event { interruption.trigger(SIGHUP) }
        }
        #expect(result.outcome == .reverted(.interrupted(signal: SIGHUP)))
        #expect(f.links.current[0].mtu == 1500)
    }

    @Test func aFailedPeerCheckRevertsBeforeWaiting() throws {
        let f = try WorkflowFixture()
        let failure = PeerCheckError(
            peer: Endpoint(host: "10.0.0.2", port: 9000),
            failure: .dontFragmentLost(size: 9000, attempts: 3, host: "10.0.0.2"))
        var waited = false
        let result = try workflow(f, timeout: .seconds(30), peer: FakePeerCheck(result: .failure(failure))).run { event in
            if case .waiting = event { waited = true }
        }
        #expect(result.outcome == .reverted(.peerCheckFailed(failure)))
        #expect(!waited)
        #expect(f.links.current[0].mtu == 1500)
        #expect(f.snapshot == nil)
    }

    @Test func aSignalDuringThePeerCheckReverts() throws {
        let f = try WorkflowFixture()
        let result = try workflow(f, peer: FakePeerCheck(result: .failure(Interrupted(signal: SIGINT)))).run()
        #expect(result.outcome == .reverted(.interrupted(signal: SIGINT)))
        #expect(f.links.current[0].mtu == 1500)
    }

    @Test func aPassedPeerCheckIsReportedThenItWaits() throws {
        let f = try WorkflowFixture()
        let report = PeerCheckReport(bytes: 4 << 20, seconds: 0.01, pmtu: 9000, dontFragment: (9000, 0.001))
        var checked: PeerCheckReport?
        let result = try workflow(f, peer: FakePeerCheck(result: .success(report))).run { event in
            if case .peerChecked(let r) = event { checked = r }
        }
        #expect(checked == report)
        #expect(result.outcome == .reverted(.timedOut))
    }

    /// Whoever marks the record first wins: a confirm after try claimed the revert
    /// is told it is too late, and try reverts.
    @Test func aConfirmAfterTheRevertWasClaimedIsTooLate() throws {
        let f = try WorkflowFixture()
        let flow = workflow(f)
        var lateConfirm: (any Error)?
        let result = try flow.run { event in
            if case .waiting = event {
                // try has begun; pretend its timeout fired and it claimed the revert.
                _ = try? flow.marker.claimRevert()
                do { try flow.marker.confirm() } catch { lateConfirm = error }
            }
        }
        #expect(result.outcome == .reverted(.timedOut))
        #expect(lateConfirm as? TryConfirmError == .tooLate(namespace: 42, pid: getpid()))
    }

    @Test func aFailedUndoSaysRunRevert() throws {
        let f = try WorkflowFixture()
        f.links.failOnSetMTUCall = 1  // call 0 applies, call 1 would undo
        let error = #expect(throws: TryUndoError.self) { try workflow(f).run() }
        #expect(error?.description.contains("run `nettune revert`") == true)
        #expect(f.snapshot?.mtus == ["veth0": 1500])
    }

    @Test func nothingToDoChangesNothing() throws {
        let f = try WorkflowFixture()
        f.links.current[0].mtu = 9000
        let result = try workflow(f).run()
        #expect(result.outcome == .nothingToDo)
        #expect(f.links.setMTUCalls == 0)
    }

    // MARK: A `try` killed before it decided (SIGKILL, the OOM killer)

    /// No process has this id: pid_max is at most 2^22.
    static let deadPID: Int32 = 5_000_000

    func leaveRecord(_ f: WorkflowFixture, _ state: String) throws {
        try "\(Self.deadPID) \(state)\n".write(toFile: f.state.path + "/netns-42.try", atomically: true, encoding: .utf8)
    }

    var record: (WorkflowFixture) -> Bool { { FileManager.default.fileExists(atPath: $0.state.path + "/netns-42.try") } }

    @Test(arguments: ["apply", "try", "revert"])
    func theNextCommandUnderTheLockNamesItAndClearsTheRecord(command: String) throws {
        let f = try WorkflowFixture()
        // What the dead try applied is still in place, with its snapshot.
        try f.tuner.apply(f.jumbo)
        try leaveRecord(f, "waiting")
        let warnings: [TuningWarning]
        switch command {
        case "apply":
            warnings = try f.tuner.apply(Profile(name: "other", description: "d", sysctls: [.tcpWmem: WorkflowFixture.normal])).plan.warnings
        case "try":
            var planned: [TuningWarning] = []
            _ = try workflow(f).run { if case .planned(let plan) = $0 { planned = plan.warnings } }
            warnings = planned
        default:
            warnings = try f.tuner.revert().warnings
            #expect(f.links.current[0].mtu == 1500)
        }
        #expect(!record(f))
        if command == "revert" {
            #expect(warnings.isEmpty)  // everything is back: nothing to say
        } else {
            #expect(warnings.first?.message.contains("`nettune try` (pid \(Self.deadPID)) ended before its time was up") == true)
            #expect(warnings.first?.message.contains("`nettune revert` takes back") == true)
        }
    }

    @Test func oneKilledWhileRevertingSaysSomeMayRemain() throws {
        let f = try WorkflowFixture()
        try leaveRecord(f, "reverting")
        let warnings = try f.tuner.apply(f.jumbo).plan.warnings
        #expect(warnings.first?.message.contains("was killed while reverting") == true)
    }

    @Test func confirmKeepsWhatAKilledTryLeftAndRefusesAHalfReverted() throws {
        let f = try WorkflowFixture()
        let marker = workflow(f).marker
        #expect(throws: TryConfirmError.nothingWaiting(namespace: 42)) { try marker.confirm() }
        try leaveRecord(f, "waiting")
        #expect(try marker.confirm() == .keptAbandoned(pid: Self.deadPID))
        #expect(!record(f))
        try leaveRecord(f, "reverting")
        #expect(throws: TryConfirmError.killedWhileReverting(pid: Self.deadPID)) { try marker.confirm() }
        #expect(!record(f))
    }

    @Test func aLivingTrysRecordIsNotTakenOver() throws {
        let f = try WorkflowFixture()
        let flow = workflow(f, timeout: .seconds(30))
        var confirmation: TryMarker.Confirmation?
        let result = try flow.run { event in
            if case .waiting = event { confirmation = try? flow.marker.confirm() }
        }
        #expect(confirmation == .confirmed)
        #expect(result.outcome == .kept(by: "nettune confirm"))
    }
}

@Suite struct ProbeWorkflowTests {
    @Test func resultsAreRecordedAndComparedWithTheBaseline() throws {
        let f = try WorkflowFixture()
        let history = HistoryStore(path: FilePath(f.state.path + "/history.jsonl"))
        func probe() throws -> ProbeWorkflow<FakeSysctlStore, FakeLinkController>.Outcome {
            let runner = ProbeRunner(
                transport: f.transport, machine: f.machine, payload: PayloadFile(path: "/p", size: 64 << 20),
                methods: [.sendfile], runs: 3, warmupBytes: 0)
            return try ProbeWorkflow(runner: runner, history: history, now: { 100 }).run()
        }
        let first = try probe()
        #expect(first.baseline == nil)
        #expect(first.report.egressInterface == "veth0")
        f.store.values[.tcpWmem] = WorkflowFixture.normal
        let second = try probe()
        let change = try #require(second.baseline)
        #expect(change.throughputRatio > 1.9)
        #expect(try history.entries().count == 2)
    }

    /// Another tuner raising tcp_wmem during the runs (bpftune does so while a socket
    /// is short of buffer): the report names it, and the history does not take a
    /// result that mixes two tunings under either one's fingerprint.
    @Test func aTuningChangedDuringTheRunsIsNamedAndNotRecorded() throws {
        let f = try WorkflowFixture()
        let history = HistoryStore(path: FilePath(f.state.path + "/history.jsonl"))
        f.transport.onRun = { number in if number == 2 { f.store.values[.tcpWmem] = "4096 20480 5242880" } }
        let runner = ProbeRunner(
            transport: f.transport, machine: f.machine, payload: PayloadFile(path: "/p", size: 64 << 20),
            methods: [.sendfile], runs: 3, warmupBytes: 0)
        let outcome = try ProbeWorkflow(runner: runner, history: history, now: { 100 }).run()
        #expect(outcome.report.tuningChangedDuringRuns == ["this machine's tcp_wmem 4096 4096 4096 → 4096 20480 5242880"])
        #expect(outcome.historyProblem?.contains("so the result was not added to the history") == true)
        let json = try JSONOutput.encode(ProbeJSON(outcome.report, multipleMethods: false))
        #expect(json.contains(#""tuning_changed" : [\#n    "this machine's tcp_wmem 4096 4096 4096 → 4096 20480 5242880"\#n  ]"#), "\(json)")
        #expect(try history.entries().isEmpty)
        #expect(throws: RecommendError.tuningChanged(["this machine's tcp_wmem 4096 20480 5242880 → 4096 4096 4096"])) {
            f.transport.onRun = { number in if number == 5 { f.store.values[.tcpWmem] = WorkflowFixture.starved } }
            _ = try RecommendWorkflow(runner: runner).run(name: nil)
        }
    }

    @Test func tuningChangesAreWhatTunesATransfer() {
        let before = TuningState(tcpWmem: "4096\t16384\t4194304", tcpRmem: "4096 131072 6291456", rmemMax: 212992, mtu: 1500, kernel: "a")
        var after = before
        after.tcpWmem = "4096 16384 4194304"  // as the kernel prints it, or as written
        after.kernel = "b"  // not tuning
        #expect(before.tuningChanges(to: after).isEmpty)
        after.rmemMax = 4_194_304
        after.mtu = nil
        #expect(before.tuningChanges(to: after) == ["rmem_max 212992 → 4194304", "MTU 1500 → unknown"])
    }

    /// Methods compared in one probe take turns in an order that reverses every
    /// round, so a machine that drifts favours none of them: on a fake machine 3 %
    /// faster per run, A B C A B C gave the last method 6 % more than the first.
    @Test func comparedMethodsTakeTurnsSoADriftFavoursNone() throws {
        let f = try WorkflowFixture()
        f.transport.rates = [:]  // the same rate for every method
        f.transport.drift = 0.03
        let report = try ProbeRunner(
            transport: f.transport, machine: f.machine, payload: PayloadFile(path: "/p", size: 64 << 20),
            methods: [.sendfile, .splice, .readwrite], runs: 2, warmupBytes: 0
        ).run()
        #expect(f.transport.methods == [.sendfile, .splice, .readwrite, .readwrite, .splice, .sendfile])
        let medians = try [ProbeMethod.sendfile, .splice, .readwrite].map { try #require(report.summary(of: $0)?.throughputBitsPerSecondMedian) }
        let spread = (medians.max() ?? 0) / (medians.min() ?? 1)
        #expect(spread < 1.02, "\(medians)")
    }

    @Test func anUnwritableHistoryDoesNotLoseTheMeasurement() throws {
        let f = try WorkflowFixture()
        try f.state.write("file", "x")
        let runner = ProbeRunner(
            transport: f.transport, machine: f.machine, payload: PayloadFile(path: "/p", size: 64 << 20),
            methods: [.sendfile], runs: 1, warmupBytes: 0)
        let outcome = try ProbeWorkflow(
            runner: runner, history: HistoryStore(path: FilePath(f.state.path + "/file/history.jsonl")),
            now: { 0 }
        ).run()
        #expect(outcome.report.runs.count == 1)
        #expect(outcome.historyProblem?.contains("could not add the result") == true)
    }

    /// With a warm-up, a sending probe loads its payload once, before the warm-up
    /// transfer, and reports what it found; a receiving one, or no warm-up, does not.
    @Test func theWarmUpLoadsThePayloadWhenThisMachineSends() throws {
        let cache = PayloadCacheLoad(bytes: 64 << 20, residentBefore: 32 << 20, residentAfter: 48 << 20, seconds: 0.5)
        for (direction, warmup, loads) in [(ProbeDirection.send, 1 << 20, 1), (.both, 1 << 20, 1), (.receive, 1 << 20, 0), (.send, 0, 0)] {
            let f = try WorkflowFixture()
            f.transport.direction = direction
            f.transport.payloadCache = cache
            var stages: [String] = []
            let report = try ProbeRunner(
                transport: f.transport, machine: f.machine, payload: PayloadFile(path: "/p", size: 64 << 20),
                methods: [.sendfile], runs: 1, warmupBytes: warmup
            ).run(header: nil) { stage, _ in
                let name: String
                switch stage {
                case .loadingPayload: name = "load"
                case .warmup: name = "warmup"
                case .run: name = "run"
                }
                if stages.last != name { stages.append(name) }
            }
            #expect(f.transport.payloadLoads == loads, "\(direction) \(warmup)")
            #expect(report.payloadCache == (loads == 1 ? cache : nil))
            if loads == 1 {
                #expect(stages.prefix(1) == ["load"])
                let text = ProbeTable.render(report)
                #expect(text.contains("payload: 50 % of it was not in the page cache; read before the runs (500 ms)"), "\(text)")
                #expect(text.contains("warning: 25 % of the payload does not stay in the page cache"), "\(text)")
            }
        }
    }

    /// The server reads its payload into its page cache before "go" of whichever
    /// run finds it missing (the warm-up, or the first run without one); the report
    /// says what it found, once.
    @Test func theServersPayloadLoadIsReportedOnce() throws {
        let cache = PayloadCacheLoad(bytes: 256 << 20, residentBefore: 0, residentAfter: 256 << 20, seconds: 2.5)
        let later = PayloadCacheLoad(bytes: 256 << 20, residentBefore: 128 << 20, residentAfter: 256 << 20, seconds: 1)
        for warmup in [1 << 20, 0] {
            let f = try WorkflowFixture()
            f.transport.direction = .receive
            f.transport.peerPayloadCacheAt = [1: cache, 3: later]
            let report = try ProbeRunner(
                transport: f.transport, machine: f.machine, payload: PayloadFile(path: "/p", size: 64 << 20),
                methods: [.sendfile], runs: 3, warmupBytes: warmup
            ).run()
            #expect(report.peerPayloadCache == cache, "warm-up \(warmup)")
            let text = ProbeTable.render(report)
            #expect(text.contains("server payload: 100 % of it was not in its page cache; the server prepared it before the runs (2.5 s)"), "\(text)")
            #expect(try JSONOutput.encode(ProbeJSON(report, multipleMethods: false)).contains("\"peer_payload_cache\" : {"))
        }
        let f = try WorkflowFixture()
        f.transport.direction = .receive
        let report = try ProbeRunner(
            transport: f.transport, machine: f.machine, payload: PayloadFile(path: "/p", size: 64 << 20),
            methods: [.sendfile], runs: 1, warmupBytes: 1 << 20
        ).run()
        #expect(report.peerPayloadCache == nil)
        #expect(!ProbeTable.render(report).contains("server payload"))
        #expect(try JSONOutput.encode(ProbeJSON(report, multipleMethods: false)).contains("\"peer_payload_cache\" : null"))
    }

    @Test func aPayloadThatCannotBeLoadedEndsTheProbeBeforeAnyRun() throws {
        let f = try WorkflowFixture()
        f.transport.loadFailure = PayloadError.unusable(path: "/p", reason: "gone")
        let runner = ProbeRunner(
            transport: f.transport, machine: f.machine, payload: PayloadFile(path: "/p", size: 64 << 20),
            methods: [.sendfile], runs: 1, warmupBytes: 1 << 20)
        #expect(throws: PayloadError.unusable(path: "/p", reason: "gone")) { try runner.run() }
        #expect(f.transport.runs == 0)
    }

    @Test func absurdRunCountsAreRefused() throws {
        let f = try WorkflowFixture()
        for runs in [0, -1, Int.max] {
            let runner = ProbeRunner(
                transport: f.transport, machine: f.machine, payload: PayloadFile(path: "/p", size: 1),
                methods: [.sendfile, .splice], runs: runs, warmupBytes: 0)
            #expect(throws: ProbeCampaignError.self) { try runner.run() }
        }
        #expect(f.transport.runs == 0)
    }
}
