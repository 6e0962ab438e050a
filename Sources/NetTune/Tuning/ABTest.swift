/// `apply PROFILE --probe`: the live state (A) against the profile (B), measured
/// with interleaved probe runs — A B A B … — applying and undoing the profile
/// between runs through the same all-or-nothing machinery, so slow drift of the
/// machine falls on both sides alike. The namespace's lock is held throughout.
public struct ABTest<Store: SysctlStore, Links: LinkController> {
    public enum Finally: Sendable {
        /// Leave B applied (the default: this is `apply`).
        case keepB
        /// Always go back to A.
        case revert
        /// Keep B only when its throughput is significantly better.
        case revertIfNotBetter
    }

    public var tuner: Tuner<Store, Links>
    public var profile: Profile
    public var interface: String?
    public var transport: any ProbeTransport
    public var machine: LocalMachine<Store, Links>
    public var payload: PayloadFile
    public var method: ProbeMethod
    public var pairs: Int
    public var warmupBytes: Int
    public var finally: Finally
    /// A signal ends the comparison at once, with A in place.
    public var interruption: Interruption?

    public static var maximumPairs: Int { 1000 }

    public init(tuner: Tuner<Store, Links>, profile: Profile, interface: String? = nil, transport: any ProbeTransport,
                machine: LocalMachine<Store, Links>, payload: PayloadFile, method: ProbeMethod, pairs: Int,
                warmupBytes: Int, finally: Finally, interruption: Interruption?) {
        self.tuner = tuner
        self.profile = profile
        self.interface = interface
        self.transport = transport
        self.machine = machine
        self.payload = payload
        self.method = method
        self.pairs = pairs
        self.warmupBytes = warmupBytes
        self.finally = finally
        self.interruption = interruption
    }

    public enum Step: Sendable {
        /// The plan, computed under the lock, before anything is changed.
        case planned(Plan)
        case warmup
        case run(pair: Int, side: Side)
    }

    public enum Side: String, Sendable { case a, b }

    public func run(progress: (Step) -> Void = { _ in }) throws -> ABResult {
        guard (2...Self.maximumPairs).contains(pairs) else { throw ABTestError.badPairCount(pairs, maximum: Self.maximumPairs) }
        guard tuner.isPrivileged() else { throw PrivilegeError(action: "comparing with profile '\(profile.name)'") }
        let lock = try tuner.lock(interruption: interruption)
        let plan = try tuner.plan(profile, interface: interface)
        guard !plan.changes.isEmpty else { throw ABTestError.nothingToCompare(plan.profile) }
        progress(.planned(plan))

        var aRuns: [RunResult] = []
        var bRuns: [RunResult] = []
        var localAddress: String?
        var contextB: DiagnosisContext?

        func probe() throws -> RunResult {
            let run = try transport.run(method, limit: nil, progress: nil)
            localAddress = localAddress ?? run.localAddress
            return run.result
        }
        func failure(_ error: any Error, pairsDone: Int) -> ABTestError {
            if let interrupted = error as? Interrupted { return .interrupted(pairsDone: pairsDone, signal: interrupted.signal) }
            return .probeFailed(pairsDone: pairsDone, cause: "\(error)")
        }

        if warmupBytes > 0 {
            progress(.warmup)
            do { _ = try transport.run(method, limit: min(warmupBytes, payload.size), progress: nil) } catch {
                throw failure(error, pairsDone: 0)
            }
        }
        for pair in 1...pairs {
            do {
                try interruption?.check()
                progress(.run(pair: pair, side: .a))
                aRuns.append(try probe())
                try interruption?.check()
            } catch {
                throw failure(error, pairsDone: pair - 1)
            }

            let applied = try tuner.apply(plan, holding: lock)
            do {
                progress(.run(pair: pair, side: .b))
                bRuns.append(try probe())
                if contextB == nil { contextB = machine.context(link: machine.egressLink(localAddress: localAddress)) }
            } catch {
                try undo(applied, lock)
                throw failure(error, pairsDone: pair - 1)
            }
            try undo(applied, lock)
        }
        // A signal during the last run is still a signal: A stays.
        do { try interruption?.check() } catch { throw failure(error, pairsDone: pairs) }

        // Built now, in state A, so A's diagnosis sees A's buffer limits.
        let reportA = machine.report(peer: transport.peer, payload: payload, methods: [method], runs: aRuns, localAddress: localAddress)
        var reportB = machine.report(peer: transport.peer, payload: payload, methods: [method], runs: bRuns, localAddress: localAddress)
        if let contextB { reportB.context = contextB }

        let throughput = Comparison(a: aRuns.map(\.throughputBitsPerSecond), b: bRuns.map(\.throughputBitsPerSecond))
        let sender = Comparison(a: aRuns.map(\.senderCPUSecondsPerGiB), b: bRuns.map(\.senderCPUSecondsPerGiB))
        let receiver = Comparison(a: aRuns.map(\.receiverCPUSecondsPerGiB), b: bRuns.map(\.receiverCPUSecondsPerGiB))
        let verdict = throughput?.verdict() ?? .noDifference

        let keep: Bool
        switch finally {
        case .keepB: keep = true
        case .revert: keep = false
        case .revertIfNotBetter: keep = verdict == .better
        }
        if keep { try tuner.apply(plan, holding: lock) }
        return ABResult(plan: plan, a: reportA, b: reportB, throughput: throughput, senderCPU: sender,
                        receiverCPU: receiver, verdict: verdict, keptB: keep)
    }

    private func undo(_ applied: AppliedPlan, _ lock: NamespaceLock) throws {
        do { try tuner.undo(applied, holding: lock) } catch {
            throw ABTestError.undoFailed(cause: "\(error)")
        }
    }
}

/// What an A/B comparison found and left behind.
public struct ABResult: Sendable, Equatable {
    public var plan: Plan
    public var a: ProbeReport
    public var b: ProbeReport
    /// B/A of throughput, and of CPU-seconds per GiB on each end.
    public var throughput: Comparison?
    public var senderCPU: Comparison?
    public var receiverCPU: Comparison?
    public var verdict: Comparison.Verdict
    /// Whether the profile is applied now.
    public var keptB: Bool
}

public enum ABTestError: Error, Equatable, CustomStringConvertible {
    case nothingToCompare(String)
    case badPairCount(Int, maximum: Int)
    case interrupted(pairsDone: Int, signal: Int32)
    case probeFailed(pairsDone: Int, cause: String)
    /// Going back to A failed: the profile may be partly applied.
    case undoFailed(cause: String)

    public var description: String {
        switch self {
        case .nothingToCompare(let profile):
            return "nothing to compare: the live values already match profile '\(profile)'"
        case .badPairCount(let pairs, let maximum):
            return "\(pairs) pairs: a comparison needs 2 to \(maximum) pairs for an interval"
        case .interrupted(let done, let signal):
            return "\(Interrupted(signal: signal)) after \(done) pair\(done == 1 ? "" : "s"): the original values (A) are in place"
        case .probeFailed(let done, let cause):
            return "the probe failed after \(done) pair\(done == 1 ? "" : "s") (\(cause)): the original values (A) are in place"
        case .undoFailed(let cause):
            return "going back to the original values failed: \(cause). The snapshot holds them: run `nettune revert`"
        }
    }
}
