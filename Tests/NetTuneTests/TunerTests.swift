import Foundation
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

    func fixture(namespace: UInt64 = 4026531840, privileged: Bool = true, state: TemporaryDirectory? = nil) throws -> Fixture {
        let store = FakeSysctlStore(original)
        let links = FakeLinkController(self.links, defaultRoute: "veth0")
        let state = try state ?? TemporaryDirectory()
        let tuner = Tuner(store: store, links: links, snapshots: SnapshotStore(directory: state.path + "/lib/nettune"),
                          namespace: namespace, bootConfig: .none, isPrivileged: { privileged }, now: { 1_764_000_000 })
        return Fixture(store: store, links: links, state: state, tuner: tuner)
    }

    let lan = Profile(name: "lan", description: "d", sysctls: [.tcpWmem: "4096 131072 4194304", .tcpMtuProbing: "1"],
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
        try f.tuner.apply(try f.tuner.plan(lan))
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
        try f.tuner.apply(try f.tuner.plan(lan))
        let plan = try f.tuner.revert()
        #expect(plan.changes.count == 3)
        #expect(f.store.values == original)
        #expect(f.links.current[0].mtu == 1500)
        #expect(try f.tuner.snapshots.load(inode: f.tuner.namespace) == nil)
    }

    @Test func aSecondApplyKeepsTheOriginalSnapshot() throws {
        let f = try fixture()
        try f.tuner.apply(try f.tuner.plan(lan))
        try f.tuner.apply(try f.tuner.plan(wan))
        let snapshot = try #require(try f.tuner.snapshots.load(inode: f.tuner.namespace))
        #expect(snapshot.sysctls["net.ipv4.tcp_wmem"] == "4096 16384 4194304")   // not lan's value
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

    @Test func withoutPrivilegeNothingIsWrittenNotEvenTheSnapshot() throws {
        let f = try fixture(privileged: false)
        let e = #expect(throws: PrivilegeError.self) { try f.tuner.apply(try f.tuner.plan(lan)) }
        #expect(e?.description == "applying profile 'lan' needs root (CAP_NET_ADMIN) — run with sudo; nothing was changed")
        #expect(f.store.writeCalls == 0)
        #expect(f.links.setMTUCalls == 0)
        #expect(try f.tuner.snapshots.load(inode: f.tuner.namespace) == nil)
    }

    @Test func aFailedApplyLeavesStateAndSnapshotFileAsBefore() throws {
        let f = try fixture()
        try f.tuner.apply(try f.tuner.plan(wan))
        let snapshotBefore = try f.tuner.snapshots.load(inode: f.tuner.namespace)
        let valuesBefore = f.store.values
        f.links.failOnSetMTUCall = 0
        #expect(throws: ApplyError.self) { try f.tuner.apply(try f.tuner.plan(lan)) }
        #expect(f.store.values == valuesBefore)
        #expect(f.links.current[0].mtu == 1500)
        #expect(try f.tuner.snapshots.load(inode: f.tuner.namespace) == snapshotBefore)

        let fresh = try fixture()
        fresh.links.failOnSetMTUCall = 0
        #expect(throws: ApplyError.self) { try fresh.tuner.apply(try fresh.tuner.plan(lan)) }
        #expect(try fresh.tuner.snapshots.load(inode: fresh.tuner.namespace) == nil)
    }

    @Test func undoTakesBackOnlyThatApply() throws {
        let f = try fixture()
        try f.tuner.apply(try f.tuner.plan(wan))
        let afterWan = f.store.values
        let snapshotAfterWan = try f.tuner.snapshots.load(inode: f.tuner.namespace)
        let applied = try f.tuner.apply(try f.tuner.plan(lan))
        try f.tuner.undo(applied)
        #expect(f.store.values == afterWan)
        #expect(f.links.current[0].mtu == 1500)
        #expect(try f.tuner.snapshots.load(inode: f.tuner.namespace) == snapshotAfterWan)
    }

    @Test func namespacesKeepSeparateSnapshots() throws {
        let state = try TemporaryDirectory()
        let a = try fixture(namespace: 1001, state: state)
        let b = try fixture(namespace: 1002, state: state)
        try a.tuner.apply(try a.tuner.plan(lan))
        try b.tuner.apply(try b.tuner.plan(wan))
        #expect(try a.tuner.snapshots.load(inode: 1001)?.profiles == ["lan"])
        #expect(try b.tuner.snapshots.load(inode: 1002)?.profiles == ["wan"])
        try a.tuner.revert()
        #expect(try b.tuner.snapshots.load(inode: 1002) != nil)
    }

    @Test func emptyPlanWritesNothing() throws {
        let f = try fixture()
        let plan = try f.tuner.plan(Profile(name: "same", description: "d", sysctls: original))
        #expect(plan.changes.isEmpty)
        try f.tuner.apply(plan)
        #expect(f.store.writeCalls == 0)
        #expect(try f.tuner.snapshots.load(inode: f.tuner.namespace) == nil)
    }
}

@Suite struct SnapshotStoreTests {
    @Test func roundTripsAndRefusesNewerFormats() throws {
        let dir = try TemporaryDirectory()
        let store = SnapshotStore(directory: dir.path + "/a/b")
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
}
