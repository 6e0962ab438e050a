import Glibc

/// apply, revert and verify for one network namespace: plan, snapshot, execute.
///
/// Every workflow that writes (`apply(_:interface:)`, `revert()`, and the `try` and
/// A/B workflows built on the primitives below) holds the namespace's
/// `NamespaceLock` from before it reads the live values until it has written the
/// snapshot and the settings; the primitives take the lock as a parameter, so they
/// cannot be called without it.
public struct Tuner<Store: SysctlStore, Links: LinkController> {
    public var store: Store
    public var links: Links
    public var snapshots: SnapshotStore
    /// The network namespace the snapshot belongs to.
    public var namespace: UInt64
    /// This life of it: a snapshot from an earlier one is set aside (see `NamespaceInstance`).
    public var instance: NamespaceInstance
    public var bootConfig: BootSysctlConfig
    /// Whether writes are allowed; checked before anything is written.
    public var isPrivileged: () -> Bool
    /// Seconds since the epoch, for the snapshot's timestamp.
    public var now: () -> Int
    /// What this process is doing, written into the lock file for others to read.
    public var holder: String
    /// How long to wait for another nettune to finish with this namespace.
    public var lockWait: Duration
    /// Told once when the lock is held by someone else and we wait.
    public var onLockWait: (NamespaceLock.Holder?) -> Void

    public init(
        store: Store, links: Links, snapshots: SnapshotStore, namespace: UInt64,
        instance: NamespaceInstance = .current(), bootConfig: BootSysctlConfig = .system,
        isPrivileged: @escaping () -> Bool = Privileges.hasNetAdmin,
        now: @escaping () -> Int = { Int(time(nil)) },
        holder: String = "nettune", lockWait: Duration = .seconds(10),
        onLockWait: @escaping (NamespaceLock.Holder?) -> Void = { _ in }
    ) {
        self.store = store
        self.links = links
        self.snapshots = snapshots
        self.namespace = namespace
        self.instance = instance
        self.bootConfig = bootConfig
        self.isPrivileged = isPrivileged
        self.now = now
        self.holder = holder
        self.lockWait = lockWait
        self.onLockWait = onLockWait
    }

    /// What applying `profile` would change now. Reads only.
    public func plan(_ profile: Profile, interface: String? = nil) throws -> Plan {
        var plan = try Planner(store: store, links: links, bootConfig: bootConfig).plan(profile, interface: interface)
        // A damaged snapshot is reported by the apply that would read it, not here.
        if !plan.changes.isEmpty, case .earlier(let old, let life)? = try? loadSnapshot() {
            plan.warnings.insert(
                TuningWarning(
                    "the snapshot at \(snapshots.path(for: namespace)) (\(old.label)) \(life.explanation): "
                        + "set aside; this apply records the present values as the originals"),
                at: 0)
        }
        return plan
    }

    /// `plan`, for a caller about to change things: under the lock, a `nettune try`
    /// that died before it decided is found, and named first in the warnings.
    public func plan(_ profile: Profile, interface: String? = nil, holding lock: NamespaceLock) throws -> Plan {
        var plan = try plan(profile, interface: interface)
        if let warning = tryMarker.takeOverAbandoned() { plan.warnings.insert(warning, at: 0) }
        return plan
    }

    /// The namespace's snapshot file, told apart by the life it was taken in.
    public enum LoadedSnapshot: Equatable, Sendable {
        case none
        case current(Snapshot)
        /// Taken in an earlier life of the namespace: its values are gone.
        case earlier(Snapshot, EarlierLife)

        /// The snapshot that describes the present, if any.
        public var current: Snapshot? {
            if case .current(let snapshot) = self { return snapshot }
            return nil
        }
    }

    public func loadSnapshot() throws -> LoadedSnapshot {
        guard let snapshot = try snapshots.load(inode: namespace) else { return .none }
        if let life = snapshot.earlierLife(than: instance) { return .earlier(snapshot, life) }
        return .current(snapshot)
    }

    /// Where a waiting `nettune try` and `nettune confirm` meet in this namespace.
    public var tryMarker: TryMarker { TryMarker(directory: snapshots.directory, namespace: namespace, instance: instance) }

    /// Takes this namespace's lock (see `NamespaceLock`).
    public func lock(interruption: Interruption? = nil) throws -> NamespaceLock {
        try NamespaceLock.acquire(
            directory: snapshots.directory, namespace: namespace, holder: holder,
            wait: lockWait, interruption: interruption, waiting: onLockWait)
    }

    // MARK: Workflows

    /// `nettune apply`: under the lock, plans against the live values and applies
    /// the plan all-or-nothing.
    @discardableResult
    public func apply(_ profile: Profile, interface: String? = nil) throws -> AppliedPlan {
        // Unprivileged and nothing to do is fine; unprivileged with changes is refused
        // before the lock file (under /var/lib) is even opened.
        if !isPrivileged() {
            let plan = try plan(profile, interface: interface)
            guard plan.changes.isEmpty else { throw PrivilegeError(action: "applying profile '\(plan.profile)'") }
            return AppliedPlan(plan: plan, previousSnapshot: nil)
        }
        let lock = try lock()
        return try apply(try plan(profile, interface: interface, holding: lock), holding: lock)
    }

    /// `nettune revert`: restores the snapshot all-or-nothing, then deletes it.
    @discardableResult
    public func revert() throws -> Plan {
        try requirePrivilege("reverting")
        let lock = try lock()
        let (_, plan) = try removingAnEarlierLifesSnapshot { try revertPlan() }
        try TuningExecutor(store: store, links: links).execute(plan.changes)
        try snapshots.delete(inode: namespace)
        // Everything is back: a dead `try`'s record has nothing left to say.
        _ = tryMarker.takeOverAbandoned()
        withExtendedLifetime(lock) {}
        return plan
    }

    /// `nettune revert --profile NAME`: restores only the originals that `profile`
    /// recorded (the settings it changed first), all-or-nothing, and forgets them;
    /// the snapshot goes when nothing is left in it. For a unit that applied one
    /// profile among several (`nettune-apply@NAME.service`).
    @discardableResult
    public func revert(profile: String) throws -> Plan {
        try requirePrivilege("reverting")
        let lock = try lock()
        let (snapshot, plan) = try removingAnEarlierLifesSnapshot { try revertPlan(profile: profile) }
        try TuningExecutor(store: store, links: links).execute(plan.changes)
        var rest = snapshot
        rest.forget(profile, targets: (plan.changes + plan.unchanged).map(\.target))
        if rest.isEmpty { try snapshots.delete(inode: namespace) } else { try snapshots.save(rest) }
        withExtendedLifetime(lock) {}
        return plan
    }

    /// `body`, which found only a snapshot from an earlier life when it throws
    /// `NoSnapshotError` with `earlier`: that file is removed (the caller holds the
    /// lock), so later commands stop tripping over it.
    private func removingAnEarlierLifesSnapshot<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch var error as NoSnapshotError where error.earlier != nil {
            try snapshots.delete(inode: namespace)
            error.removed = true
            throw error
        }
    }

    /// What `revert(profile:)` would do.
    public func revertPlan(profile: String) throws -> (snapshot: Snapshot, plan: Plan) {
        let (snapshot, whole) = try revertPlan()
        guard snapshot.profiles.contains(profile) else {
            throw ProfileNotAppliedError(profile: profile, applied: snapshot.profiles)
        }
        let mine = { (change: Change) in snapshot.owner(of: change.target) == profile }
        return (
            snapshot,
            Plan(
                profile: profile, changes: whole.changes.filter(mine), unchanged: whole.unchanged.filter(mine),
                warnings: whole.warnings)
        )
    }

    // MARK: Primitives (the caller holds the lock)

    /// Applies a plan all-or-nothing. The snapshot is saved before the first write.
    /// If a change fails and every earlier one is undone, the snapshot file is put
    /// back as it was. If undoing also fails, the new snapshot stays: it holds the
    /// original of every key the plan touched, the ones still changed among them,
    /// so `nettune revert` can finish the job.
    @discardableResult
    public func apply(_ plan: Plan, holding lock: NamespaceLock) throws -> AppliedPlan {
        guard !plan.changes.isEmpty else { return AppliedPlan(plan: plan, previousSnapshot: nil) }
        try requirePrivilege("applying profile '\(plan.profile)'")
        // One from an earlier life is replaced: its originals are not this life's.
        let previous = try loadSnapshot().current
        var snapshot = previous ?? Snapshot(netnsInode: namespace, created: now(), instance: instance)
        snapshot.record(plan.changes, profile: plan.profile)
        try snapshots.save(snapshot)
        do {
            try TuningExecutor(store: store, links: links).execute(plan.changes)
        } catch {
            if error.rollbackFailures.isEmpty { restoreSnapshotFile(previous) }
            throw error
        }
        return AppliedPlan(plan: plan, previousSnapshot: previous)
    }

    /// Takes back exactly what `apply` did (for `try` and the A/B test): the changes
    /// in reverse, then the snapshot file as it was before — an earlier apply's
    /// snapshot survives. If undoing fails, the snapshot stays as it is, with the
    /// originals of everything the plan changed.
    public func undo(_ applied: AppliedPlan, holding lock: NamespaceLock) throws {
        guard !applied.plan.changes.isEmpty else { return }
        try TuningExecutor(store: store, links: links).execute(applied.plan.changes.reversed().map(\.inverse))
        restoreSnapshotFile(applied.previousSnapshot)
    }

    /// The first of `changes` whose live value is not its `from` (`at: .from`) or
    /// its `to` (`.to`): something other than this nettune changed it since.
    public func firstDeparture(of changes: [Change], at end: ChangeEnd) throws -> SettingDeparture? {
        let links = changes.contains { if case .mtu = $0.target { true } else { false } } ? try self.links.links() : []
        for change in changes {
            let expected = end == .from ? change.from : change.to
            let live: String?
            switch change.target {
            case .sysctl(let key): live = try store.read(key)
            case .mtu(let interface): live = links.first { $0.name == interface }.map { String($0.mtu) }
            }
            guard let live, SysctlValue.equivalent(live, expected) else {
                return SettingDeparture(target: change.target, expected: expected, found: live ?? "nothing")
            }
        }
        return nil
    }

    public enum ChangeEnd: Sendable { case from, to }

    private func restoreSnapshotFile(_ previous: Snapshot?) {
        if let previous { try? snapshots.save(previous) } else { try? snapshots.delete(inode: namespace) }
    }

    /// What `revert` would do: the snapshot's values against the live ones.
    public func revertPlan() throws -> (snapshot: Snapshot, plan: Plan) {
        let snapshot: Snapshot
        switch try loadSnapshot() {
        case .none: throw NoSnapshotError(namespace: namespace, path: snapshots.path(for: namespace))
        case .earlier(let old, let life):
            throw NoSnapshotError(namespace: namespace, path: snapshots.path(for: namespace), earlier: (old.label, life))
        case .current(let current): snapshot = current
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

    func requirePrivilege(_ action: String) throws(PrivilegeError) {
        guard isPrivileged() else { throw PrivilegeError(action: action) }
    }
}

/// A plan that was carried out, with what is needed to take it back.
public struct AppliedPlan: Equatable, Sendable {
    public var plan: Plan
    /// The snapshot file's content before this apply; nil when there was none.
    public var previousSnapshot: Snapshot?

    public init(plan: Plan, previousSnapshot: Snapshot?) {
        self.plan = plan
        self.previousSnapshot = previousSnapshot
    }
}

/// Writing needs CAP_NET_ADMIN.
public struct PrivilegeError: Error, Equatable, CustomStringConvertible {
    public var action: String
    public var description: String { "\(action) needs root (CAP_NET_ADMIN) — run with sudo; nothing was changed" }
}

/// `revert --profile` for a profile the snapshot does not list.
public struct ProfileNotAppliedError: Error, Equatable, CustomStringConvertible {
    public var profile: String
    public var applied: [String]
    public var description: String {
        "profile '\(profile)' is not applied in this network namespace"
            + (applied.isEmpty ? "" : "; applied: " + applied.joined(separator: ", "))
    }
}

/// `revert` with nothing to revert.
public struct NoSnapshotError: Error, Equatable, CustomStringConvertible {
    public var namespace: UInt64
    public var path: String
    /// The snapshot that was there, from an earlier life of the namespace: what it
    /// held (`Snapshot.label`) and why it no longer applies.
    public var earlier: Earlier?
    /// Whether `revert` removed that file.
    public var removed = false

    public struct Earlier: Equatable, Sendable {
        public var label: String
        public var life: EarlierLife
    }

    public init(namespace: UInt64, path: String, earlier: (label: String, life: EarlierLife)? = nil) {
        self.namespace = namespace
        self.path = path
        self.earlier = earlier.map { Earlier(label: $0.label, life: $0.life) }
    }

    public var description: String {
        guard let earlier else {
            return
                "no snapshot for this network namespace (net:[\(namespace)]) at \(path): nettune has not applied a profile here, or it was already reverted"
        }
        return "the snapshot for this network namespace (net:[\(namespace)]) at \(path) (\(earlier.label)) \(earlier.life.explanation): "
            + "there is nothing to restore; " + (removed ? "it was removed" : "`nettune revert` removes it")
    }
}
