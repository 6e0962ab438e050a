import Glibc

/// `nettune try`: apply, check the peer, wait for a person to keep the change,
/// and otherwise take it back — the netplan-try safety net for a change that can
/// cut you off. The namespace's lock is held from the plan to the end, so nothing
/// else changes the namespace while a `try` is undecided.
public struct TryWorkflow<Store: SysctlStore, Links: LinkController> {
    public var tuner: Tuner<Store, Links>
    public var profile: Profile
    public var interface: String?
    public var timeout: Duration
    public var peerCheck: (any PeerChecking)?
    /// A terminal to watch for Enter, or nil.
    public var terminal: Int32?
    /// A signal at any point after the apply reverts.
    public var interruption: Interruption?

    public init(
        tuner: Tuner<Store, Links>, profile: Profile, interface: String? = nil, timeout: Duration,
        peerCheck: (any PeerChecking)?, terminal: Int32?, interruption: Interruption?
    ) {
        self.tuner = tuner
        self.profile = profile
        self.interface = interface
        self.timeout = timeout
        self.peerCheck = peerCheck
        self.terminal = terminal
        self.interruption = interruption
    }

    public enum Event {
        /// The plan, before anything is changed.
        case planned(Plan)
        case peerChecked(PeerCheckReport)
        /// Applied; waiting for Enter (when `terminal`) or `nettune confirm`.
        case waiting(timeout: Duration, terminal: Bool)
        /// About every second while waiting.
        case tick(left: Duration)
    }

    public enum Outcome: Equatable, Sendable {
        case nothingToDo
        case kept(by: String)
        case reverted(Reason)
    }

    public enum Reason: Equatable, Sendable {
        case timedOut
        case peerCheckFailed(PeerCheckError)
        case interrupted(signal: Int32)
    }

    public struct Result: Equatable, Sendable {
        public var plan: Plan
        public var outcome: Outcome
    }

    public var marker: TryMarker { tuner.tryMarker }

    /// - Throws: `TryUndoError` when taking the change back failed (the snapshot
    ///   holds the originals: `nettune revert` restores them); errors before the
    ///   apply (nothing changed).
    public func run(events: (Event) -> Void = { _ in }) throws -> Result {
        guard (try? tuner.requirePrivilege("")) != nil else {
            let plan = try tuner.plan(profile, interface: interface)
            guard plan.changes.isEmpty else { throw PrivilegeError(action: "trying profile '\(plan.profile)'") }
            events(.planned(plan))
            return Result(plan: plan, outcome: .nothingToDo)
        }
        // Before the lock: a slow name server holds up no other nettune.
        try peerCheck?.prepare()
        let lock = try tuner.lock(interruption: interruption)
        let plan = try tuner.plan(profile, interface: interface, holding: lock)
        events(.planned(plan))
        guard !plan.changes.isEmpty else { return Result(plan: plan, outcome: .nothingToDo) }
        let marker = self.marker
        let applied = try tuner.apply(plan, holding: lock)

        func revert(_ reason: Reason) throws -> Result {
            do { try tuner.undo(applied, holding: lock) } catch {
                throw TryUndoError(profile: plan.profile, cause: "\(error)")
            }
            return Result(plan: plan, outcome: .reverted(reason))
        }

        if let signal = interruption?.signal { return try revert(.interrupted(signal: signal)) }
        if let peerCheck {
            do {
                events(.peerChecked(try peerCheck.check(after: plan)))
            } catch let error as Interrupted {
                return try revert(.interrupted(signal: error.signal))
            } catch let error as PeerCheckError {
                return try revert(.peerCheckFailed(error))
            } catch {
                return try revert(.peerCheckFailed(PeerCheckError(peer: peerCheck.peer, failure: .probe("\(error)"))))
            }
        }

        do {
            try marker.begin()
        } catch {
            _ = try revert(.timedOut)
            throw error
        }
        defer { marker.end() }
        events(.waiting(timeout: timeout, terminal: terminal != nil))
        let wait = ConfirmationWait(timeout: timeout, marker: marker, terminal: terminal)
        let outcome: ConfirmationOutcome
        do {
            outcome = try wait.wait(interruption: interruption) { events(.tick(left: $0)) }
        } catch {
            // The wait itself failed (the marker could not be read or written): the
            // change was not confirmed.
            _ = try revert(.timedOut)
            throw error
        }
        switch outcome {
        case .confirmed(let how):
            return Result(plan: plan, outcome: .kept(by: how))
        case .timedOut, .interrupted:
            // A `nettune confirm` may have landed a moment ago: whoever marks the
            // record first decides, and both say the same thing.
            guard try marker.claimRevert() else { return Result(plan: plan, outcome: .kept(by: "nettune confirm")) }
            if case .interrupted(let signal) = outcome { return try revert(.interrupted(signal: signal)) }
            return try revert(.timedOut)
        }
    }
}

/// Taking back a `try` failed.
public struct TryUndoError: Error, Equatable, CustomStringConvertible {
    public var profile: String
    public var cause: String
    public var description: String {
        "reverting '\(profile)' failed: \(cause). The snapshot holds the original values: run `nettune revert`"
    }
}
