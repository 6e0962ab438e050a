import Dispatch
import Foundation
import Synchronization
import SystemPackage
import Testing

@testable import NetTune

@Suite struct TunerTests {
    let links = [LinkInfo(index: 2, name: "veth0", mtu: 1500, minMTU: 68, maxMTU: 65535, adminUp: true)]
    let original: [SysctlKey: String] = [.tcpWmem: "4096 16384 4194304", .tcpRmem: "4096 131072 6291456", .tcpMtuProbing: "0"]

    struct Fixture {
        var store: FakeSysctlStore
        var links: FakeLinkController
        var state: TemporaryDirectory
        var tuner: Tuner<FakeSysctlStore, FakeLinkController>
    }

    func fixture(namespace: UInt64 = 4_026_531_840, privileged: Bool = true, state: TemporaryDirectory? = nil) throws -> Fixture {
        let store = FakeSysctlStore(original)
        let links = FakeLinkController(self.links, defaultRoute: "veth0")
        let state = try state ?? TemporaryDirectory()
        let tuner = Tuner(
            store: store, links: links, snapshots: SnapshotStore(directory: FilePath(state.path + "/lib/nettune")),
            namespace: namespace, bootConfig: .none, isPrivileged: { privileged }, now: { 1_764_000_000 },
            holder: "nettune test", lockWait: WorkflowFixture.lockWait)
        return Fixture(store: store, links: links, state: state, tuner: tuner)
    }

    let lan = Profile(
        name: "lan", description: "d", sysctls: [.tcpWmem: "4096 131072 4194304", .tcpMtuProbing: "1"],
        link: LinkSettings(mtu: 9000))
    let wan = Profile(name: "wan", description: "d", sysctls: [.tcpWmem: "4096 1048576 16777216", .tcpRmem: "4096 1048576 16777216"])

    @Test func applySavesTheSnapshotBeforeTheFirstWrite() throws {
        let f = try fixture()
        var snapshotExistedAtFirstWrite: Bool?
        f.store.beforeWrite = { _ in
            if snapshotExistedAtFirstWrite == nil {
                snapshotExistedAtFirstWrite = (try? f.tuner.snapshots.load(inode: f.tuner.namespace)) != nil
            }
        }
        try f.tuner.apply(lan)
        #expect(snapshotExistedAtFirstWrite == true)
        let snapshot = try #require(try f.tuner.snapshots.load(inode: f.tuner.namespace))
        #expect(snapshot.sysctls == ["net.ipv4.tcp_wmem": "4096 16384 4194304", "net.ipv4.tcp_mtu_probing": "0"])
        #expect(snapshot.mtus == ["veth0": 1500])
        #expect(snapshot.profiles == ["lan"])
        #expect(f.store.values[.tcpWmem] == "4096 131072 4194304")
        #expect(f.links.current[0].mtu == 9000)
    }

    @Test func revertRestoresTheOriginalsAndDeletesTheSnapshot() throws {
        let f = try fixture()
        try f.tuner.apply(lan)
        let plan = try f.tuner.revert()
        #expect(plan.changes.count == 3)
        #expect(f.store.values == original)
        #expect(f.links.current[0].mtu == 1500)
        #expect(try f.tuner.snapshots.load(inode: f.tuner.namespace) == nil)
    }

    /// A link's original MTU may lie outside what a profile may ask for (loopback's
    /// default is 65536): the snapshot keeps it, and revert puts it back.
    @Test func anOriginalMTUAboveWhatAProfileMaySetIsRestored() throws {
        let f = try fixture()
        f.links.current = [LinkInfo(index: 1, name: "lo", mtu: 65536, adminUp: true)]
        try f.tuner.apply(Profile(name: "jumbo", description: "d", link: LinkSettings(mtu: 9000, interface: "lo")))
        #expect(f.links.current[0].mtu == 9000)
        #expect(try f.tuner.snapshots.load(inode: f.tuner.namespace)?.mtus == ["lo": 65536])
        try f.tuner.revert()
        #expect(f.links.current[0].mtu == 65536)
    }

    @Test func aSecondApplyKeepsTheOriginalSnapshot() throws {
        let f = try fixture()
        try f.tuner.apply(lan)
        let second = try f.tuner.apply(wan)
        #expect(second.previousSnapshot?.profiles == ["lan"])
        let snapshot = try #require(try f.tuner.snapshots.load(inode: f.tuner.namespace))
        #expect(snapshot.sysctls["net.ipv4.tcp_wmem"] == "4096 16384 4194304")  // not lan's value
        #expect(snapshot.sysctls["net.ipv4.tcp_rmem"] == "4096 131072 6291456")  // newly touched by wan
        #expect(snapshot.profiles == ["lan", "wan"])
        try f.tuner.revert()
        #expect(f.store.values == original)
        #expect(f.links.current[0].mtu == 1500)
    }

    @Test func revertWithoutSnapshotSaysSo() throws {
        let f = try fixture()
        let e = #expect(throws: NoSnapshotError.self) { try f.tuner.revert() }
        #expect(e?.description.contains("no snapshot for this network namespace (net:[4026531840])") == true)
    }

    @Test func withoutPrivilegeNothingIsWrittenNotEvenTheSnapshotOrTheLock() throws {
        let f = try fixture(privileged: false)
        let e = #expect(throws: PrivilegeError.self) { try f.tuner.apply(lan) }
        #expect(e?.description == "applying profile 'lan' needs root (CAP_NET_ADMIN) — run with sudo; nothing was changed")
        #expect(f.store.writeCalls == 0)
        #expect(f.links.setMTUCalls == 0)
        #expect(try f.tuner.snapshots.load(inode: f.tuner.namespace) == nil)
        #expect(!FileManager.default.fileExists(atPath: f.state.path + "/lib/nettune"))
        // Nothing to change needs no privilege.
        #expect(try f.tuner.apply(Profile(name: "same", description: "d", sysctls: original)).plan.changes.isEmpty)
    }

    @Test func aFailedApplyLeavesStateAndSnapshotFileAsBefore() throws {
        let f = try fixture()
        try f.tuner.apply(wan)
        let snapshotBefore = try f.tuner.snapshots.load(inode: f.tuner.namespace)
        let valuesBefore = f.store.values
        f.links.failOnSetMTUCall = 0
        #expect(throws: ApplyError.self) { try f.tuner.apply(lan) }
        #expect(f.store.values == valuesBefore)
        #expect(f.links.current[0].mtu == 1500)
        #expect(try f.tuner.snapshots.load(inode: f.tuner.namespace) == snapshotBefore)

        let fresh = try fixture()
        fresh.links.failOnSetMTUCall = 0
        #expect(throws: ApplyError.self) { try fresh.tuner.apply(lan) }
        #expect(try fresh.tuner.snapshots.load(inode: fresh.tuner.namespace) == nil)
    }

    /// lan writes tcp_mtu_probing, then tcp_wmem, then fails on the MTU; undoing
    /// fails for the keys in `undoFailures` (write calls counted from lan's first).
    @Test(arguments: [[1], [0], [0, 1]])
    func aFailedRollbackKeepsEveryOriginalInTheSnapshot(undoFailures: [Int]) throws {
        for withEarlierApply in [false, true] {
            let f = try fixture()
            var base = 0
            if withEarlierApply {
                try f.tuner.apply(wan)  // tcp_rmem and tcp_wmem, not tcp_mtu_probing
                base = f.store.writeCalls
            }
            f.links.failOnSetMTUCall = 0
            // Rollback order: tcp_wmem (call base+2), then tcp_mtu_probing (base+3).
            f.store.failingWriteCalls = Set(undoFailures.map { base + 2 + (1 - $0) })
            let error = #expect(throws: ApplyError.self) { try f.tuner.apply(lan) }
            #expect(error?.rollbackFailures.count == undoFailures.count)
            #expect(error?.description.contains("run `nettune revert`") == true)
            let snapshot = try #require(try f.tuner.snapshots.load(inode: f.tuner.namespace))
            #expect(snapshot.sysctls["net.ipv4.tcp_mtu_probing"] == "0")
            #expect(snapshot.sysctls["net.ipv4.tcp_wmem"] == "4096 16384 4194304")
            // What the message promises holds: revert restores every original.
            f.store.failingWriteCalls = []
            try f.tuner.revert()
            #expect(f.store.values == original)
        }
    }

    @Test func undoTakesBackOnlyThatApply() throws {
        let f = try fixture()
        try f.tuner.apply(wan)
        let afterWan = f.store.values
        let snapshotAfterWan = try f.tuner.snapshots.load(inode: f.tuner.namespace)
        let lock = try f.tuner.lock()
        let applied = try f.tuner.apply(try f.tuner.plan(lan), holding: lock)
        try f.tuner.undo(applied, holding: lock)
        #expect(f.store.values == afterWan)
        #expect(f.links.current[0].mtu == 1500)
        #expect(try f.tuner.snapshots.load(inode: f.tuner.namespace) == snapshotAfterWan)
    }

    @Test func aFailedUndoKeepsTheSnapshotForRevert() throws {
        let f = try fixture()
        let lock = try f.tuner.lock()
        let applied = try f.tuner.apply(try f.tuner.plan(wan), holding: lock)
        f.store.failingWriteCalls = [f.store.writeCalls + 1]  // the second undo write
        #expect(throws: ApplyError.self) { try f.tuner.undo(applied, holding: lock) }
        #expect(try f.tuner.snapshots.load(inode: f.tuner.namespace)?.profiles == ["wan"])
        withExtendedLifetime(lock) {}
    }

    @Test func aSecondWriterIsToldWhoHoldsTheNamespace() throws {
        var f = try fixture()
        f.tuner.lockWait = .zero
        var lock: NamespaceLock? = try f.tuner.lock()
        let error = #expect(throws: NamespaceBusyError.self) { try f.tuner.apply(lan) }
        #expect(error?.holder == NamespaceLock.Holder(pid: getpid(), command: "nettune test"))
        #expect(
            error?.description.contains("another nettune is changing this network namespace (net:[4026531840]) (pid \(getpid()): nettune test)")
                == true)
        #expect(f.store.writeCalls == 0)
        #expect(throws: NamespaceBusyError.self) { try f.tuner.revert() }
        #expect(lock != nil)
        lock = nil
        try f.tuner.apply(lan)  // free again
    }

    @Test func aWriterWaitsForTheLockAndSaysSoOnce() throws {
        var f = try fixture()
        f.tuner.lockWait = .seconds(10)
        var lock: NamespaceLock? = try f.tuner.lock()
        var told: [NamespaceLock.Holder?] = []
        // The holder lets go only once the waiter has said it waits.
        f.tuner.onLockWait = { holder in
            told.append(holder)
            lock = nil
        }
        try f.tuner.apply(wan)
        #expect(told == [NamespaceLock.Holder(pid: getpid(), command: "nettune test")])
        #expect(lock == nil)
        #expect(f.store.values[.tcpWmem] == "4096 1048576 16777216")
    }

    @Test func aValueTheKernelDoesNotKeepIsRolledBack() throws {
        let f = try fixture()
        // A single-value key that keeps only the first field, as proc_dointvec does.
        f.store.keeps[.tcpMtuProbing] = { String($0.split(separator: " ").first ?? "") }
        let odd = Profile(name: "odd", description: "d", sysctls: [.tcpWmem: "4096 65536 4194304", .tcpMtuProbing: "1 2"])
        let error = #expect(throws: ApplyError.self) { try f.tuner.apply(odd) }
        #expect(error?.cause.contains("the kernel accepted the write but holds '1'") == true)
        #expect(f.store.values == original)
        #expect(try f.tuner.snapshots.load(inode: f.tuner.namespace) == nil)
    }

    @Test func numbersTheKernelRewritesAreTheSameValue() throws {
        let f = try fixture()
        f.store.keeps[.tcpMtuProbing] = { String(Int($0) ?? -1) }
        try f.tuner.apply(Profile(name: "z", description: "d", sysctls: [.tcpMtuProbing: "01"]))
        #expect(f.store.values[.tcpMtuProbing] == "1")
    }

    @Test func namespacesKeepSeparateSnapshots() throws {
        let state = try TemporaryDirectory()
        let a = try fixture(namespace: 1001, state: state)
        let b = try fixture(namespace: 1002, state: state)
        try a.tuner.apply(lan)
        try b.tuner.apply(wan)
        #expect(try a.tuner.snapshots.load(inode: 1001)?.profiles == ["lan"])
        #expect(try b.tuner.snapshots.load(inode: 1002)?.profiles == ["wan"])
        try a.tuner.revert()
        #expect(try b.tuner.snapshots.load(inode: 1002) != nil)
    }

    @Test func emptyPlanWritesNothing() throws {
        let f = try fixture()
        let applied = try f.tuner.apply(Profile(name: "same", description: "d", sysctls: original))
        #expect(applied.plan.changes.isEmpty)
        #expect(f.store.writeCalls == 0)
        #expect(try f.tuner.snapshots.load(inode: f.tuner.namespace) == nil)
    }
}

/// Two applies of different profiles at the same moment in one namespace, on
/// real files: without the namespace lock, one snapshot overwrote the other and
/// revert left a key changed.
@Suite struct ConcurrentApplyTests {
    @Test func revertRestoresEverythingAfterConcurrentApplies() throws {
        let dir = try TemporaryDirectory()
        let originals = [
            "net/ipv4/tcp_wmem": "4096 16384 4194304", "net/ipv4/tcp_rmem": "4096 131072 6291456",
            "net/ipv4/tcp_mtu_probing": "0"
        ]
        let profiles = [
            Profile(name: "one", description: "d", sysctls: [.tcpWmem: "4096 65536 8388608", .tcpMtuProbing: "1"]),
            Profile(name: "two", description: "d", sysctls: [.tcpRmem: "4096 262144 8388608", .tcpMtuProbing: "2"])
        ]
        let root = dir.path
        @Sendable func tuner() -> Tuner<ProcSysStore, FakeLinkController> {
            Tuner(
                store: ProcSysStore(root: FilePath(root + "/sys")), links: FakeLinkController([]),
                snapshots: SnapshotStore(directory: FilePath(root + "/state")), namespace: 77, bootConfig: .none,
                isPrivileged: { true }, holder: "test", lockWait: .seconds(30))
        }
        for _ in 0..<30 {
            for (path, value) in originals { try dir.write("sys/" + path, value + "\n") }
            let start = DispatchSemaphore(value: 0)
            let group = DispatchGroup()
            let failures = Mutex<[String]>([])
            for profile in profiles {
                group.enter()
                Thread.detachNewThread {
                    start.wait()
                    do { try tuner().apply(profile) } catch { failures.withLock { $0.append("\(error)") } }
                    group.leave()
                }
            }
            start.signal()
            start.signal()
            group.wait()
            #expect(failures.withLock { $0 } == [])
            try tuner().revert()
            for (path, value) in originals {
                #expect(try dir.read("sys/" + path).trimmingCharacters(in: .whitespacesAndNewlines) == value)
            }
        }
    }
}

@Suite struct SnapshotStoreTests {
    @Test func roundTripsAndRefusesNewerFormats() throws {
        let dir = try TemporaryDirectory()
        let store = SnapshotStore(directory: FilePath(dir.path + "/a/b"))
        let snapshot = Snapshot(netnsInode: 7, created: 1, profiles: ["x"], sysctls: ["net.ipv4.tcp_wmem": "1 2 3"], mtus: ["eth0": 1500])
        try store.save(snapshot)
        #expect(try store.load(inode: 7) == snapshot)
        #expect(try store.load(inode: 8) == nil)
        // No temporary file is left beside it.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path + "/a/b") == ["netns-7.json"])

        try dir.write("a/b/netns-9.json", #"{"format": 99, "netns_inode": 9, "created": 0, "profiles": [], "sysctls": {}, "mtus": {}}"#)
        #expect((#expect(throws: StateError.self) { try store.load(inode: 9) })?.message.contains("newer") == true)
        try dir.write("a/b/netns-10.json", "{not json")
        #expect((#expect(throws: StateError.self) { try store.load(inode: 10) })?.message.contains("damaged") == true)
    }

    @Test(arguments: [
        #""mtus": {"eth0": -5}"#, #""mtus": {"eth0": 9223372036854775807}"#, #""mtus": {"../x": 1500}"#,
        #""sysctls": {"kernel.panic": "1"}"#, #""sysctls": {"net.ipv4.tcp_wmem": ""}"#
    ])
    func damagedValuesAreRefusedNotRestored(field: String) throws {
        let dir = try TemporaryDirectory()
        let store = SnapshotStore(directory: FilePath(dir.path))
        let other = field.hasPrefix(#""mtus""#) ? #""sysctls": {}"# : #""mtus": {}"#
        try dir.write("netns-5.json", #"{"format": 1, "netns_inode": 5, "created": 0, "profiles": [], "# + field + ", " + other + "}")
        let error = #expect(throws: StateError.self) { try store.load(inode: 5) }
        #expect(error?.message.hasPrefix("damaged snapshot") == true)
    }

    @Test func aSnapshotOfAnotherNamespaceIsNotRestoredHere() throws {
        let dir = try TemporaryDirectory()
        let store = SnapshotStore(directory: FilePath(dir.path))
        try store.save(Snapshot(netnsInode: 5, created: 0, sysctls: ["net.ipv4.tcp_wmem": "1 2 3"]))
        try FileManager.default.moveItem(atPath: dir.path + "/netns-5.json", toPath: dir.path + "/netns-6.json")
        let error = #expect(throws: StateError.self) { try store.load(inode: 6) }
        #expect(error?.message.contains("belongs to network namespace net:[5], not this one (net:[6])") == true)
    }

    @Test func oversizedAndNonRegularSnapshotsAreRefused() throws {
        let dir = try TemporaryDirectory()
        let store = SnapshotStore(directory: FilePath(dir.path))
        try dir.write("netns-3.json", String(repeating: " ", count: 300 << 10))
        #expect((#expect(throws: StateError.self) { try store.load(inode: 3) })?.message.contains("larger than") == true)
        #expect(mkfifo(dir.path + "/netns-4.json", 0o600) == 0)
        #expect((#expect(throws: StateError.self) { try store.load(inode: 4) })?.message.contains("not a regular file") == true)
    }
}

@Suite struct RevertOneProfileTests {
    @Test func onlyTheSettingsAProfileChangedFirstAreRestored() throws {
        let f = try WorkflowFixture()
        let wmem = Profile(name: "w", description: "d", sysctls: [.tcpWmem: "4096 65536 8388608"])
        let both = Profile(name: "b", description: "d", sysctls: [.tcpWmem: "4096 32768 8388608", .tcpMtuProbing: "1"])
        try f.tuner.apply(wmem)
        try f.tuner.apply(both)
        // b changed tcp_mtu_probing first; tcp_wmem's original belongs to w.
        let plan = try f.tuner.revert(profile: "b")
        #expect(plan.changes.map(\.target) == [.sysctl(.tcpMtuProbing)])
        #expect(f.store.values[.tcpMtuProbing] == "0")
        #expect(f.store.values[.tcpWmem] == "4096 32768 8388608")
        let rest = try #require(f.snapshot)
        #expect(rest.profiles == ["w"])
        #expect(rest.sysctls.keys.sorted() == ["net.ipv4.tcp_wmem"])
        try f.tuner.revert(profile: "w")
        #expect(f.store.values == f.original)
        #expect(f.snapshot == nil)
        #expect(throws: NoSnapshotError.self) { try f.tuner.revert(profile: "w") }
    }

    @Test func aProfileThatIsNotAppliedIsNamedAsSuch() throws {
        let f = try WorkflowFixture()
        try f.tuner.apply(f.restore)
        let error = #expect(throws: ProfileNotAppliedError.self) { try f.tuner.revert(profile: "jumbo") }
        #expect(error?.description == "profile 'jumbo' is not applied in this network namespace; applied: restore")
    }

    @Test func snapshotsWithoutOwnersCountAsTheFirstProfiles() throws {
        let snapshot = try Snapshot.decode(
            Array(
                #"{"format": 1, "netns_inode": 5, "created": 0, "profiles": ["a", "b"], "sysctls": {"net.ipv4.tcp_wmem": "1 2 3"}, "mtus": {}}"#.utf8)
        )
        #expect(snapshot.owner(of: .sysctl(.tcpWmem)) == "a")
    }
}
