/// `apply PROFILE --probe`: the live state (A) against the profile (B), measured
/// with interleaved probe runs — A B A B … — applying and undoing the profile
/// between runs through the same all-or-nothing machinery, so slow drift of the
/// machine falls on both sides alike.
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
    public var plan: Plan
    public var request: ProbeRequest
    public var method: ProbeMethod
    public var pairs: Int
    public var warmupBytes: Int
    public var finally: Finally

    public init(tuner: Tuner<Store, Links>, plan: Plan, request: ProbeRequest, method: ProbeMethod, pairs: Int,
                warmupBytes: Int, finally: Finally) {
        self.tuner = tuner
        self.plan = plan
        self.request = request
        self.method = method
        self.pairs = pairs
        self.warmupBytes = warmupBytes
        self.finally = finally
    }

    public enum Step: Sendable {
        case warmup
        case run(pair: Int, side: Side)
    }

    public enum Side: String, Sendable { case a, b }

    /// - Parameters:
    ///   - interrupted: polled between runs; true ends the comparison in state A.
    ///   - progress: what is running now.
    public func run(interrupted: () -> Bool, progress: (Step) -> Void = { _ in }) throws -> ABResult {
        guard !plan.changes.isEmpty else { throw ABTestError.nothingToCompare(plan.profile) }
        guard tuner.isPrivileged() else { throw PrivilegeError(action: "comparing with profile '\(plan.profile)'") }
        let client = ProbeClient(request)
        var aRuns: [RunResult] = []
        var bRuns: [RunResult] = []
        var localAddress: String?
        var contextB: DiagnosisContext?

        if warmupBytes > 0 {
            progress(.warmup)
            _ = try client.run(method, limit: min(warmupBytes, request.payload.size))
        }
        for pair in 1...pairs {
            if interrupted() { throw ABTestError.interrupted(pairsDone: pair - 1) }
            progress(.run(pair: pair, side: .a))
            do {
                let (a, local) = try client.run(method)
                aRuns.append(a)
                localAddress = localAddress ?? local
            } catch {
                throw ABTestError.probeFailed(pairsDone: pair - 1, cause: "\(error)")
            }

            if interrupted() { throw ABTestError.interrupted(pairsDone: pair - 1) }
            let applied = try tuner.apply(plan)
            do {
                progress(.run(pair: pair, side: .b))
                let (b, _) = try client.run(method)
                bRuns.append(b)
                if contextB == nil { contextB = ProbeRunner.context(link: ProbeRunner.egressLink(localAddress: localAddress)) }
            } catch {
                try tuner.undo(applied)
                throw ABTestError.probeFailed(pairsDone: pair - 1, cause: "\(error)")
            }
            try tuner.undo(applied)
        }

        // Built now, in state A, so A's diagnosis sees A's buffer limits.
        let reportA = ProbeRunner.report(request: request, methods: [method], runs: aRuns, localAddress: localAddress)
        var reportB = ProbeRunner.report(request: request, methods: [method], runs: bRuns, localAddress: localAddress)
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
        if keep { try tuner.apply(plan) }
        return ABResult(plan: plan, a: reportA, b: reportB, throughput: throughput, senderCPU: sender,
                        receiverCPU: receiver, verdict: verdict, keptB: keep)
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
    case interrupted(pairsDone: Int)
    case probeFailed(pairsDone: Int, cause: String)

    public var description: String {
        switch self {
        case .nothingToCompare(let profile):
            return "nothing to compare: the live values already match profile '\(profile)'"
        case .interrupted(let done):
            return "interrupted after \(done) pair\(done == 1 ? "" : "s"): the original values (A) are in place"
        case .probeFailed(let done, let cause):
            return "the probe failed after \(done) pair\(done == 1 ? "" : "s") (\(cause)): the original values (A) are in place"
        }
    }
}
