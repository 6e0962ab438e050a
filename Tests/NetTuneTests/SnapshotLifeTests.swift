import Foundation
import Glibc
import SystemPackage
import Testing

@testable import NetTune

/// A snapshot outlives what it describes: the first namespace's inode is the same on
/// every boot, and the kernel reuses a deleted namespace's. Restoring its originals
/// after a restart (which reset them, perhaps to other defaults after a kernel
/// upgrade), or naming its profiles as applied, was wrong.
@Suite struct SnapshotLifeTests {
    static let firstBoot = NamespaceInstance(bootID: "11111111-1111-4111-8111-111111111111", cookie: 1)
    static let secondBoot = NamespaceInstance(bootID: "22222222-2222-4222-8222-222222222222", cookie: 1)
    static let laterNamespace = NamespaceInstance(bootID: firstBoot.bootID, cookie: 7)
    /// What the kernel set at the second boot: not what the first boot had.
    static let newDefault = "4096 16384 8388608"

    /// `restore` applied in the first boot, then a restart to `instance` that reset
    /// tcp_wmem to a new default.
    private func restarted(to instance: NamespaceInstance) throws -> WorkflowFixture {
        var f = try WorkflowFixture()
        f.tuner.instance = Self.firstBoot
        try f.tuner.apply(f.restore)
        #expect(f.snapshot?.bootID == Self.firstBoot.bootID)
        #expect(f.snapshot?.netnsCookie == 1)
        f.store.values[.tcpWmem] = Self.newDefault
        f.tuner.instance = instance
        return f
    }

    @Test func revertAfterARestartRestoresNothingAndRemovesTheSnapshot() throws {
        let f = try restarted(to: Self.secondBoot)
        let dryRun = #expect(throws: NoSnapshotError.self) { try f.tuner.revertPlan() }
        #expect(dryRun?.earlier?.life == .earlierBoot)
        #expect(dryRun?.description.contains("(profile restore, taken 1970-01-01 00:00 UTC) was taken before this machine last started") == true)
        #expect(dryRun?.description.hasSuffix("there is nothing to restore; `nettune revert` removes it") == true)
        #expect(f.snapshot != nil, "a dry run removes nothing")

        let error = #expect(throws: NoSnapshotError.self) { try f.tuner.revert() }
        #expect(error?.removed == true)
        #expect(f.store.values[.tcpWmem] == Self.newDefault, "the first boot's original was not written back")
        #expect(f.snapshot == nil)
    }

    @Test func revertOfOneProfileAfterARestartDoesTheSame() throws {
        let f = try restarted(to: Self.secondBoot)
        let error = #expect(throws: NoSnapshotError.self) { try f.tuner.revert(profile: "restore") }
        #expect(error?.removed == true)
        #expect(f.store.values[.tcpWmem] == Self.newDefault)
        #expect(f.snapshot == nil)
    }

    @Test func applyAfterARestartRecordsThePresentValues() throws {
        let f = try restarted(to: Self.secondBoot)
        let lowMemory = Profile(name: "low-memory", description: "d", sysctls: [.tcpWmem: "4096 16384 1048576"])
        let applied = try f.tuner.apply(lowMemory)
        let warning = applied.plan.warnings.first?.message ?? ""
        #expect(
            warning.contains("before this machine last started") && warning.contains("set aside; this apply records the present values"), "\(warning)"
        )
        #expect(f.snapshot?.profiles == ["low-memory"])
        #expect(f.snapshot?.sysctls[SysctlKey.tcpWmem.name] == Self.newDefault)
        #expect(f.snapshot?.bootID == Self.secondBoot.bootID)
        try f.tuner.revert()
        #expect(f.store.values[.tcpWmem] == Self.newDefault)
    }

    @Test func anEarlierNamespaceWithTheSameInodeIsToldApart() throws {
        let f = try restarted(to: Self.laterNamespace)
        let error = #expect(throws: NoSnapshotError.self) { try f.tuner.revertPlan() }
        #expect(error?.earlier?.life == .earlierNamespace)
        #expect(error?.description.contains("the kernel reuses them") == true)
    }

    @Test func thePresentLifeRevertsAsBefore() throws {
        let f = try restarted(to: Self.firstBoot)
        try f.tuner.revert()
        #expect(f.store.values[.tcpWmem] == WorkflowFixture.starved)
    }

    /// Snapshots written before nettune recorded the life count as this one's: a
    /// figure either side lacks proves nothing.
    @Test func aSnapshotThatDoesNotSayCountsAsThisLifes() throws {
        let old = Snapshot(netnsInode: 42, created: 0, profiles: ["restore"], sysctls: [SysctlKey.tcpWmem.name: "1 2 3"])
        #expect(old.earlierLife(than: Self.secondBoot) == nil)
        #expect(try Snapshot.decode(old.encoded()).bootID == nil)
        let unknownNow = NamespaceInstance(bootID: nil, cookie: nil)
        #expect(Snapshot(netnsInode: 42, created: 0, instance: Self.firstBoot).earlierLife(than: unknownNow) == nil)
    }

    @Test func theLifeSurvivesTheFileAndABadBootIDIsRefused() throws {
        let snapshot = Snapshot(netnsInode: 42, created: 0, instance: Self.firstBoot, profiles: ["x"])
        let decoded = try Snapshot.decode(snapshot.encoded())
        #expect(decoded.bootID == Self.firstBoot.bootID && decoded.netnsCookie == 1)
        let text = String(decoding: snapshot.encoded(), as: UTF8.self).replacingOccurrences(of: Self.firstBoot.bootID!, with: "../../etc")
        #expect(throws: SnapshotDecodingError.self) { try Snapshot.decode(Array(text.utf8)) }
    }

    @Test func theHistoryNamesNoProfileOfAnEarlierLife() throws {
        let f = try restarted(to: Self.secondBoot)
        func profiles(in instance: NamespaceInstance) -> [String] {
            let machine = LocalMachine(
                store: f.store, links: f.links, sysfsNet: FilePath(f.state.path + "/nosys"), kernel: "test",
                snapshots: f.tuner.snapshots, namespace: 42, instance: instance)
            return machine.fingerprint(of: HistoryTests().report([1e9])).profiles
        }
        #expect(profiles(in: Self.firstBoot) == ["restore"])
        #expect(profiles(in: Self.secondBoot) == [])
    }

    @Test func theKernelGivesThisProcessALife() {
        let now = NamespaceInstance.current()
        #expect(now.bootID.map(NamespaceInstance.isBootID) == true)
        #expect(now.cookie != nil, "SO_NETNS_COOKIE: Linux 5.14 and later")
        #expect(NamespaceInstance.current() == now)
    }

    /// `try jumbo` cut the device off and someone pulled its power: the record of
    /// the waiting `try` survived, and the next command said that what it applied
    /// was "still in place" (the restart had reset it), `confirm` that it was kept.
    @Test func aTryRecordFromBeforeARestartSaysTheRestartUndidIt() throws {
        let dir = try TemporaryDirectory()
        try TryMarker(directory: FilePath(dir.path), namespace: 42, instance: Self.firstBoot).begin()
        let afterRestart = TryMarker(directory: FilePath(dir.path), namespace: 42, instance: Self.secondBoot)
        let error = #expect(throws: TryConfirmError.self) { try afterRestart.confirm() }
        #expect(
            error?.description
                == "no `nettune try` is waiting here, and nothing to confirm: the one with pid \(getpid()) was still waiting when this machine last stopped: the restart reset what it applied"
        )
        #expect(afterRestart.state() == nil, "the record is gone")

        try TryMarker(directory: FilePath(dir.path), namespace: 42, instance: Self.firstBoot).begin()
        let warning = afterRestart.takeOverAbandoned()
        #expect(warning?.message.contains("the restart reset what it applied") == true)
        #expect(afterRestart.takeOverAbandoned() == nil)
    }

    @Test func aTryRecordOfThisLifeIsStillTheTrysOwn() throws {
        let dir = try TemporaryDirectory()
        let marker = TryMarker(directory: FilePath(dir.path), namespace: 42, instance: Self.firstBoot)
        try marker.begin()
        #expect(try marker.confirm() == .confirmed)
        #expect(marker.state() == .confirmed)
        // A record written before the life was kept ("PID STATE") still counts.
        try "\(getpid()) waiting\n".write(toFile: marker.markerPath.string, atomically: true, encoding: .utf8)
        #expect(marker.state() == .waiting)
        #expect(try TryMarker(directory: FilePath(dir.path), namespace: 42, instance: Self.secondBoot).confirm() == .confirmed)
    }
}
