/// Carries out changes all-or-nothing: if one fails, those already made are undone
/// in reverse order and the error says which setting failed and why.
public struct TuningExecutor<Store: SysctlStore, Links: LinkController> {
    public var store: Store
    public var links: Links

    public init(store: Store, links: Links) {
        self.store = store
        self.links = links
    }

    public func execute(_ changes: [Change]) throws(ApplyError) {
        var done: [Change] = []
        for change in changes {
            do {
                try perform(change)
                done.append(change)
            } catch {
                // A value the kernel took but changed was still written: undo it too.
                if let sysctlError = error as? SysctlError, case .keptOtherValue = sysctlError.detail { done.append(change) }
                var rollbackFailures: [ApplyError.RollbackFailure] = []
                for made in done.reversed() {
                    do {
                        try perform(made.inverse)
                    } catch let undoError {
                        rollbackFailures.append(.init(change: made, error: "\(undoError)"))
                    }
                }
                throw ApplyError(failed: change, cause: "\(error)", undone: done.count, rollbackFailures: rollbackFailures)
            }
        }
    }

    func perform(_ change: Change) throws {
        switch change.target {
        case .sysctl(let key):
            try store.write(key, value: change.to)
            // The kernel parses what it understands and may silently keep less (a
            // single-value key given "1 2" keeps 1): what it kept must be what we wrote.
            let kept = try store.read(key)
            guard let kept, SysctlValue.equivalent(kept, change.to) else {
                throw SysctlError(
                    .write, key: key, value: change.to, errno: .invalidArgument,
                    detail: .keptOtherValue(kept ?? "nothing"))
            }
        case .mtu(let interface):
            guard let mtu = Int(change.to) else {
                throw PlanError(.mtuOutOfRange, "'\(change.to)' is not an MTU")
            }
            try links.setMTU(mtu, on: interface)
        }
    }
}

/// A change that failed, and what the rollback managed.
public struct ApplyError: Error, Equatable, CustomStringConvertible {
    public struct RollbackFailure: Equatable, Sendable {
        public var change: Change
        public var error: String
    }

    public var failed: Change
    public var cause: String
    /// How many earlier changes were made and then undone.
    public var undone: Int
    public var rollbackFailures: [RollbackFailure]

    public var description: String {
        var text = "setting \(failed.target) to \(failed.to) failed: \(cause)"
        if rollbackFailures.isEmpty {
            text +=
                undone == 0
                ? "; nothing was changed"
                : "; the \(undone) change\(undone == 1 ? "" : "s") made before it \(undone == 1 ? "was" : "were") undone, nothing is changed"
        } else {
            let failed = rollbackFailures.map { "\($0.change.target) (still \($0.change.to): \($0.error))" }
            text +=
                "; undoing the earlier changes also failed for " + failed.joined(separator: ", ")
                + ". The snapshot still holds the original values: run `nettune revert`"
        }
        return text
    }
}
