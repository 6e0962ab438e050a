import Glibc
import SystemPackage

/// The handshake between a waiting `nettune try` and `nettune confirm` in one
/// namespace. `try` holds the namespace lock while it waits, so the two meet in a
/// small record of their own, `netns-<inode>.try` (the waiting pid, a state, and
/// the namespace's life: see `NamespaceInstance`), changed only under an flock of
/// `netns-<inode>.try.lock`:
///
/// - `confirm` turns `waiting` into `confirmed`;
/// - `try`, at its timeout or on a signal, turns `waiting` into `reverting`.
///
/// Whichever comes first wins, and the other sees it: a `confirm` racing the
/// timeout never says "kept" for a profile that `try` is taking back.
public struct TryMarker: Sendable {
    public enum State: String, Sendable { case waiting, confirmed, reverting }

    public let directory: FilePath
    public let namespace: UInt64
    /// A record from an earlier life (a `try` waiting when the machine lost power)
    /// describes nothing that is still in place.
    public let instance: NamespaceInstance

    public init(directory: FilePath, namespace: UInt64, instance: NamespaceInstance = .current()) {
        self.directory = directory
        self.namespace = namespace
        self.instance = instance
    }

    public var markerPath: FilePath { directory.appending("netns-\(namespace).try") }
    var lockPath: FilePath { directory.appending("netns-\(namespace).try.lock") }

    /// Called by `try` before it waits.
    public func begin() throws {
        try withLock { try write(.waiting, pid: getpid()) }
    }

    /// Called by `try` when it is done, whatever the outcome.
    public func end() {
        _ = unlink(markerPath.string)
    }

    /// The recorded state, for `try`'s wait loop (reads are atomic: the record is
    /// replaced by rename).
    public func state() -> State? { read()?.state }

    /// `try`'s decision to take the change back. Returns false when a confirmation
    /// came first: then the profile stays.
    public func claimRevert() throws -> Bool {
        try withLock {
            if read()?.state == .confirmed { return false }
            try write(.reverting, pid: getpid())
            return true
        }
    }

    /// What `confirm` did.
    public enum Confirmation: Equatable, Sendable {
        /// The waiting `try` keeps its profile.
        case confirmed
        /// A `try` that died while it waited (`abandoned`) left its profile applied;
        /// it stays, and the record goes.
        case keptAbandoned(pid: Int32)
    }

    /// Called by `confirm`, or by `try` itself for Enter on its terminal.
    @discardableResult
    public func confirm() throws -> Confirmation {
        try withLock {
            guard let record = read() else { throw TryConfirmError.nothingWaiting(namespace: namespace) }
            if let life = instance.earlierLife(of: record.life) {
                end()
                throw TryConfirmError.earlierLife(pid: record.pid, Self.gone(life))
            }
            guard Syscall.processExists(record.pid) else {
                end()
                switch record.state {
                case .waiting, .confirmed: return .keptAbandoned(pid: record.pid)
                case .reverting: throw TryConfirmError.killedWhileReverting(pid: record.pid)
                }
            }
            switch record.state {
            case .waiting: try write(.confirmed, pid: record.pid)
            case .confirmed: break
            case .reverting: throw TryConfirmError.tooLate(namespace: namespace, pid: record.pid)
            }
            return .confirmed
        }
    }

    /// A `try` that died before it finished (SIGKILL, the OOM killer) leaves its
    /// record, and what it applied stays in place. Whoever holds the namespace
    /// lock — which a living `try` holds until it is done — finds only such a
    /// record here: it is removed, and the warning says what was left.
    public func takeOverAbandoned() -> TuningWarning? {
        guard let record = read() else {
            // Unreadable or damaged: nothing can be said about it, and nothing waits on it.
            end()
            return nil
        }
        end()
        if let life = instance.earlierLife(of: record.life) {
            return TuningWarning("a `nettune try` (pid \(record.pid)) \(Self.gone(life))")
        }
        switch record.state {
        case .waiting:
            return TuningWarning(
                "a `nettune try` (pid \(record.pid)) ended before its time was up (killed?) and did not revert: what it applied is "
                    + "still in place; `nettune revert` takes back everything nettune changed here")
        case .reverting:
            return TuningWarning(
                "a `nettune try` (pid \(record.pid)) was killed while reverting: some of what it applied may still be in place; "
                    + "`nettune revert` restores the originals")
        case .confirmed:
            return nil
        }
    }

    /// What a record from an earlier life says happened to its `try`.
    static func gone(_ life: EarlierLife) -> String {
        switch life {
        case .earlierBoot: "was still waiting when this machine last stopped: the restart reset what it applied"
        case .earlierNamespace: "was waiting in an earlier network namespace that had this one's inode: what it applied went with that namespace"
        }
    }

    /// "PID STATE BOOT-ID COOKIE" ("-" and 0 where unknown); records written before
    /// the life was kept have the first two fields only.
    private func read() -> (pid: Int32, state: State, life: NamespaceInstance)? {
        guard let text = try? TextFile.read(markerPath, limit: 4096) else { return nil }
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
        guard fields.count == 2 || fields.count == 4, let pid = Int32(fields[0]), pid > 0, let state = State(rawValue: fields[1]) else {
            return nil
        }
        guard fields.count == 4 else { return (pid, state, NamespaceInstance(bootID: nil, cookie: nil)) }
        guard fields[2] == "-" || NamespaceInstance.isBootID(fields[2]), let cookie = UInt64(fields[3]) else { return nil }
        return (pid, state, NamespaceInstance(bootID: fields[2] == "-" ? nil : fields[2], cookie: cookie == 0 ? nil : cookie))
    }

    private func write(_ state: State, pid: Int32) throws {
        let line = "\(pid) \(state.rawValue) \(instance.bootID ?? "-") \(instance.cookie ?? 0)\n"
        do {
            try AtomicFile.write(Array(line.utf8), to: markerPath, permissions: [.ownerReadWrite])
        } catch {
            throw StateError(path: markerPath.string, doing: "cannot record the try's state", cause: error)
        }
    }

    private func withLock<T>(_ body: () throws -> T) throws -> T {
        do { try AtomicFile.makeDirectories(directory) } catch {
            throw StateError(path: directory.string, doing: "cannot create the state directory", cause: error)
        }
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(lockPath, .readWrite, options: [.create, .closeOnExec], permissions: [.ownerReadWrite])
        } catch {
            throw StateError(path: lockPath.string, doing: "cannot open", cause: error)
        }
        defer { try? fd.close() }
        // Held for a read and a rename: waiting for it is waiting for microseconds.
        do { try Syscall.call { flock(fd.rawValue, LOCK_EX) } } catch {
            throw StateError(path: lockPath.string, message: "cannot lock: \(error)")
        }
        return try body()
    }
}

public enum TryConfirmError: Error, Equatable, CustomStringConvertible {
    case nothingWaiting(namespace: UInt64)
    case tooLate(namespace: UInt64, pid: Int32)
    case killedWhileReverting(pid: Int32)
    /// The record is from an earlier life of the namespace: why nothing of it is left.
    case earlierLife(pid: Int32, String)

    public var description: String {
        switch self {
        case .nothingWaiting(let namespace):
            return "no `nettune try` is waiting in this network namespace (net:[\(namespace)]); nothing to confirm"
        case .tooLate(_, let pid):
            return "too late: `nettune try` (pid \(pid)) has already started reverting; the change is not kept"
        case .killedWhileReverting(let pid):
            return "`nettune try` (pid \(pid)) was killed while reverting: some of what it applied may still be in place, "
                + "and there is nothing to confirm; run `nettune revert` to restore the originals, then apply the profile again to keep it"
        case .earlierLife(let pid, let gone):
            return "no `nettune try` is waiting here, and nothing to confirm: the one with pid \(pid) \(gone)"
        }
    }
}
