/// apply, revert and verify for one network namespace: plan, snapshot, execute.
public struct Tuner<Store: SysctlStore, Links: LinkController> {
    public var store: Store
    public var links: Links
    public var snapshots: SnapshotStore
    /// The network namespace the snapshot belongs to.
    public var namespace: UInt64
    public var bootConfig: BootSysctlConfig
    /// Whether writes are allowed; checked before anything is written.
    public var isPrivileged: () -> Bool
    /// Seconds since the epoch, for the snapshot's timestamp.
    public var now: () -> Int

    public init(store: Store, links: Links, snapshots: SnapshotStore, namespace: UInt64,
                bootConfig: BootSysctlConfig = .system,
                isPrivileged: @escaping () -> Bool = Privileges.hasNetAdmin,
                now: @escaping () -> Int = { Int(time(nil)) }) {
        self.store = store
        self.links = links
        self.snapshots = snapshots
        self.namespace = namespace
        self.bootConfig = bootConfig
        self.isPrivileged = isPrivileged
        self.now = now
    }

    public func plan(_ profile: Profile, interface: String? = nil) throws -> Plan {
        try Planner(store: store, links: links, bootConfig: bootConfig).plan(profile, interface: interface)
    }

    /// Applies a plan all-or-nothing. The snapshot is saved before the first write;
    /// if a change fails, the earlier ones are undone and the snapshot file is put
    /// back as it was.
    @discardableResult
    public func apply(_ plan: Plan) throws -> AppliedPlan {
        guard !plan.changes.isEmpty else { return AppliedPlan(plan: plan, previousSnapshot: nil) }
        try requirePrivilege("applying profile '\(plan.profile)'")
        let previous = try snapshots.load(inode: namespace)
        var snapshot = previous ?? Snapshot(netnsInode: namespace, created: now())
        snapshot.record(plan.changes, profile: plan.profile)
        try snapshots.save(snapshot)
        do {
            try TuningExecutor(store: store, links: links).execute(plan.changes)
        } catch {
            restoreSnapshotFile(previous)
            throw error
        }
        return AppliedPlan(plan: plan, previousSnapshot: previous)
    }

    /// Takes back exactly what `apply` did (for `try`): the changes in reverse, and
    /// the snapshot file as it was before — an earlier apply's snapshot survives.
    public func undo(_ applied: AppliedPlan) throws {
        guard !applied.plan.changes.isEmpty else { return }
        try TuningExecutor(store: store, links: links).execute(applied.plan.changes.reversed().map(\.inverse))
        restoreSnapshotFile(applied.previousSnapshot)
    }

    private func restoreSnapshotFile(_ previous: Snapshot?) {
        if let previous { try? snapshots.save(previous) } else { try? snapshots.delete(inode: namespace) }
    }

    /// What `revert` would do: the snapshot's values against the live ones.
    public func revertPlan() throws -> (snapshot: Snapshot, plan: Plan) {
        guard let snapshot = try snapshots.load(inode: namespace) else {
            throw NoSnapshotError(namespace: namespace, path: snapshots.path(for: namespace))
        }
        var changes: [Change] = []
        var unchanged: [Change] = []
        var warnings: [TuningWarning] = []
        for (name, original) in snapshot.sysctls.sorted(by: { $0.key < $1.key }) {
            let key = try SysctlKey(name)
            guard let current = try store.read(key) else {
                warnings.append(TuningWarning("\(key) no longer exists here; skipped"))
                continue
            }
            let change = Change(.sysctl(key), from: current, to: original)
            if SysctlValue.same(current, original) { unchanged.append(change) } else { changes.append(change) }
        }
        let live = try links.links()
        for (interface, original) in snapshot.mtus.sorted(by: { $0.key < $1.key }) {
            guard let link = live.named(interface) else {
                warnings.append(TuningWarning("interface \(interface) no longer exists; its MTU \(original) was not restored"))
                continue
            }
            let change = Change(.mtu(interface: interface), from: String(link.mtu), to: String(original))
            if link.mtu == original { unchanged.append(change) } else { changes.append(change) }
        }
        let label = "snapshot of " + (snapshot.profiles.isEmpty ? "net:[\(namespace)]" : snapshot.profiles.joined(separator: ", "))
        return (snapshot, Plan(profile: label, changes: changes, unchanged: unchanged, warnings: warnings))
    }

    /// Restores the snapshot all-or-nothing, then deletes it.
    @discardableResult
    public func revert() throws -> Plan {
        let (_, plan) = try revertPlan()
        try requirePrivilege("reverting")
        try TuningExecutor(store: store, links: links).execute(plan.changes)
        try snapshots.delete(inode: namespace)
        return plan
    }

    private func requirePrivilege(_ action: String) throws(PrivilegeError) {
        guard isPrivileged() else { throw PrivilegeError(action: action) }
    }
}

/// A plan that was carried out, with what is needed to take it back.
public struct AppliedPlan: Equatable, Sendable {
    public var plan: Plan
    /// The snapshot file's content before this apply; nil when there was none.
    public var previousSnapshot: Snapshot?
}

/// Writing needs CAP_NET_ADMIN.
public struct PrivilegeError: Error, Equatable, CustomStringConvertible {
    public var action: String
    public var description: String { "\(action) needs root (CAP_NET_ADMIN) — run with sudo; nothing was changed" }
}

/// `revert` with nothing to revert.
public struct NoSnapshotError: Error, Equatable, CustomStringConvertible {
    public var namespace: UInt64
    public var path: String
    public var description: String {
        "no snapshot for this network namespace (net:[\(namespace)]) at \(path): nettune has not applied a profile here, or it was already reverted"
    }
}

#if canImport(Glibc)
import Glibc
#endif
