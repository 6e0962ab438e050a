import Foundation

/// `apply PROFILE --probe`: the live state (A) against the profile (B), measured
/// with interleaved probe runs in pairs whose order alternates — A B, B A, A B … —
/// applying and undoing the profile around B's runs through the same
/// all-or-nothing machinery, so slow drift of the machine falls on both sides
/// alike. The namespace's lock is held throughout.
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
    /// The directions to measure; nil: those the profile's changes can affect.
    public var directions: [ProbeDirection]?
    /// Streams in each direction, for the report.
    public var streams: Int
    /// A signal ends the comparison at once, with A in place.
    public var interruption: Interruption?
    /// Where A's and B's results are kept, each under its own tuning fingerprint
    /// (nil: nowhere), and the clock that stamps them.
    public var history: HistoryStore?
    public var now: @Sendable () -> Int = { Int(Date().timeIntervalSince1970) }

    public static var maximumPairs: Int { 1000 }

    public init(
        tuner: Tuner<Store, Links>, profile: Profile, interface: String? = nil, transport: any ProbeTransport,
        machine: LocalMachine<Store, Links>, payload: PayloadFile, method: ProbeMethod, pairs: Int,
        warmupBytes: Int, finally: Finally, directions: [ProbeDirection]? = nil, streams: Int = 1,
        interruption: Interruption?
    ) {
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
        self.directions = directions
        self.streams = streams
        self.interruption = interruption
    }

    public enum Step: Sendable {
        /// The plan, computed under the lock, before anything is changed; the
        /// directions measured and why.
        case planned(Plan, DirectionChoice)
        case warmup
        case run(pair: Int, side: Side, direction: ProbeDirection)
        /// A run finished: its throughput, for a running ratio and an estimate.
        case measured(pair: Int, side: Side, direction: ProbeDirection, throughput: Double)
        /// The current run (or the warm-up) waits before its transfer: in the
        /// server's queue, or for the server to read its payload.
        case waiting(ProbeProgress)
    }

    public enum Side: String, Sendable { case a, b }

    /// A B, then B A, then A B …: were A always first, anything that drifts over
    /// the comparison (a warming cache, a neighbour's load) would fall on B one run
    /// later in every pair and bias every ratio the same way, so the interval would
    /// narrow around the drift. Alternating puts it on each side in turn.
    static func aGoesFirst(inPair pair: Int) -> Bool { pair % 2 == 1 }

    static func throughput(_ runs: [RunResult], _ direction: ProbeDirection) -> Double {
        runs.first { $0.direction == direction }?.throughputBitsPerSecond ?? 0
    }

    public func run(progress: @escaping (Step) -> Void = { _ in }) throws -> ABResult {
        guard (2...Self.maximumPairs).contains(pairs) else { throw ABTestError.badPairCount(pairs, maximum: Self.maximumPairs) }
        guard tuner.isPrivileged() else { throw PrivilegeError(action: "comparing with profile '\(profile.name)'") }
        let lock = try tuner.lock(interruption: interruption)
        let plan = try tuner.plan(profile, interface: interface, holding: lock)
        guard !plan.changes.isEmpty else { throw ABTestError.nothingToCompare(plan.profile) }
        let choice = DirectionChoice(plan: plan, forced: directions)
        // Prepared to receive only (no payload made) from a plan read before the
        // lock, and the live values changed since: nothing to send from.
        if choice.directions.contains(.send) && !payload.isFile {
            throw ABTestError.probeFailed(
                pairsDone: 0, cause: "the live values changed while it was prepared, and now sending needs measuring too; run it again")
        }
        progress(.planned(plan, choice))

        var aRuns: [RunResult] = []
        var bRuns: [RunResult] = []
        var localAddress: String?
        var remoteAddress: String?
        var remote: TuningState?
        var peerPayloadCache: PayloadCacheLoad?
        var localB: TuningState?
        var fingerprintB: TuningFingerprint?

        // Only the waits, not the transfer: its progress is read beside the sender
        // whose CPU the comparison measures.
        let waiting: (ProbeProgress) -> Void = { progress(.waiting($0)) }
        func probe(_ direction: ProbeDirection) throws -> [RunResult] {
            let run = try transport.run(method, limit: nil, direction: direction, progress: nil, waiting: waiting)
            localAddress = localAddress ?? run.localAddress
            remoteAddress = remoteAddress ?? run.remoteAddress?.host
            remote = remote ?? run.remote
            peerPayloadCache = peerPayloadCache ?? run.peerPayloadCache
            return run.results
        }
        func failure(_ error: any Error, pairsDone: Int) -> ABTestError {
            if let own = error as? ABTestError { return own }
            if let interrupted = error as? Interrupted { return .interrupted(pairsDone: pairsDone, signal: interrupted.signal) }
            return .probeFailed(pairsDone: pairsDone, cause: "\(error)")
        }

        var payloadCache: PayloadCacheLoad?
        if warmupBytes > 0 {
            progress(.warmup)
            do {
                // Else the first A run could read it from the disk, which favours B.
                if choice.directions.contains(.send) { payloadCache = try transport.loadPayload() }
                let warmup = try transport.run(
                    method, limit: min(warmupBytes, payload.size), direction: choice.directions[0], progress: nil, waiting: waiting)
                peerPayloadCache = warmup.peerPayloadCache
            } catch {
                throw failure(error, pairsDone: 0)
            }
        }
        /// Another tuner changing what the comparison varies would mix A and B
        /// (bpftune raises tcp_rmem/tcp_wmem while a socket is short of buffer —
        /// during a probe, that is; tuned; a `sysctl --system`): each side's values
        /// are checked around its runs.
        func expect(_ side: Side, pair: Int) throws {
            guard let departure = try tuner.firstDeparture(of: plan.changes, at: side == .a ? .from : .to) else { return }
            throw ABTestError.changedUnderneath(pairsDone: pair - 1, duringB: side == .b, departure)
        }
        /// A's runs of one pair; A is in place.
        func measureA(_ pair: Int) throws {
            do {
                try expect(.a, pair: pair)
                for direction in choice.directions {
                    try interruption?.check()
                    progress(.run(pair: pair, side: .a, direction: direction))
                    let runs = try probe(direction)
                    aRuns += runs
                    progress(.measured(pair: pair, side: .a, direction: direction, throughput: Self.throughput(runs, direction)))
                }
                try expect(.a, pair: pair)
                try interruption?.check()
            } catch {
                throw failure(error, pairsDone: pair - 1)
            }
        }
        /// B's runs of one pair: B applied for them, and undone on every path.
        func measureB(_ pair: Int) throws {
            let applied = try tuner.apply(plan, holding: lock)
            do {
                for direction in choice.directions {
                    try interruption?.check()
                    progress(.run(pair: pair, side: .b, direction: direction))
                    let runs = try probe(direction)
                    bRuns += runs
                    progress(.measured(pair: pair, side: .b, direction: direction, throughput: Self.throughput(runs, direction)))
                }
                if localB == nil {
                    // B's tuning and fingerprint, read while B is in place.
                    localB = machine.tuningState(localAddress: localAddress)
                    var fingerprint = machine.fingerprint(
                        of: machine.report(
                            peer: transport.peer, payload: payload, methods: [method], direction: direction(choice), streams: streams,
                            runs: [], localAddress: localAddress, remote: remote))
                    if fingerprint.profiles.last != profile.name { fingerprint.profiles.append(profile.name) }
                    fingerprintB = fingerprint
                }
                try expect(.b, pair: pair)
                try interruption?.check()
            } catch {
                try undo(applied, lock)
                throw failure(error, pairsDone: pair - 1)
            }
            try undo(applied, lock)
        }
        for pair in 1...pairs {
            if Self.aGoesFirst(inPair: pair) {
                try measureA(pair)
                try measureB(pair)
            } else {
                try measureB(pair)
                try measureA(pair)
            }
        }
        // A signal during the last run is still a signal: A stays.
        do { try interruption?.check() } catch { throw failure(error, pairsDone: pairs) }

        // Built now, in state A, so A's diagnosis sees A's tuning; B's sees B's.
        let measured = direction(choice)
        var reportA = machine.report(
            peer: transport.peer, payload: payload, methods: [method], direction: measured, streams: streams,
            runs: aRuns, localAddress: localAddress, remote: remote)
        var reportB = machine.report(
            peer: transport.peer, payload: payload, methods: [method], direction: measured, streams: streams,
            runs: bRuns, localAddress: localAddress, remote: remote)
        if let localB {
            reportB.local = localB
            reportB.mtu = localB.mtu
        }
        reportA.remoteAddress = remoteAddress
        reportB.remoteAddress = remoteAddress
        reportA.payloadCache = payloadCache
        reportB.payloadCache = payloadCache
        reportA.peerPayloadCache = peerPayloadCache
        reportB.peerPayloadCache = peerPayloadCache

        var comparisons: [ProbeDirection: DirectionComparison] = [:]
        for direction in choice.directions {
            let a = aRuns.filter { $0.direction == direction }
            let b = bRuns.filter { $0.direction == direction }
            let throughput = Comparison(a: a.map(\.throughputBitsPerSecond), b: b.map(\.throughputBitsPerSecond))
            comparisons[direction] = DirectionComparison(
                throughput: throughput,
                senderCPU: Comparison(a: a.map(\.senderCPUSecondsPerGiB), b: b.map(\.senderCPUSecondsPerGiB)),
                receiverCPU: Comparison(a: a.map(\.receiverCPUSecondsPerGiB), b: b.map(\.receiverCPUSecondsPerGiB)),
                verdict: throughput?.verdict() ?? .noDifference)
        }
        let verdict = ABResult.overall(comparisons.values.map(\.verdict))

        let keep: Bool
        switch finally {
        case .keepB: keep = true
        case .revert: keep = false
        case .revertIfNotBetter: keep = verdict == .better
        }
        // A's fingerprint now, with A in place, before B may be applied for good.
        let fingerprintA = machine.fingerprint(of: reportA)
        if keep { try tuner.apply(plan, holding: lock) }
        var result = ABResult(plan: plan, choice: choice, a: reportA, b: reportB, comparisons: comparisons, verdict: verdict, keptB: keep)
        if let history {
            // Kept like any probe, so `history` and later baselines see both sides;
            // a history that cannot be written costs a warning, not the result.
            let time = now()
            do {
                let verdicts = comparisons.mapValues(\.verdict)
                _ = try history.record(reportA, fingerprint: fingerprintA, time: time, source: .applyA, verdicts: verdicts)
                if let fingerprintB {
                    _ = try history.record(reportB, fingerprint: fingerprintB, time: time, source: .applyB, verdicts: verdicts)
                }
            } catch {
                result.historyProblem = "the results were not added to the history: \(error)"
            }
        }
        return result
    }

    private func direction(_ choice: DirectionChoice) -> ProbeDirection {
        choice.directions.count > 1 ? .both : choice.directions[0]
    }

    private func undo(_ applied: AppliedPlan, _ lock: NamespaceLock) throws {
        do { try tuner.undo(applied, holding: lock) } catch {
            throw ABTestError.undoFailed(cause: "\(error)")
        }
    }
}

/// Which ways to measure a profile, and why: a change can only show where it acts.
public struct DirectionChoice: Equatable, Sendable {
    public var directions: [ProbeDirection]
    /// One line per reason ("tcp_rmem sizes what this machine receives").
    public var reasons: [String]
    /// Said when a forced direction cannot show what the profile changes.
    public var warning: String?

    public init(plan: Plan, forced: [ProbeDirection]?) {
        var affected: Set<ProbeDirection> = []
        var reasons: [String] = []
        for change in plan.changes {
            switch change.target {
            case .sysctl(let key) where key == .tcpWmem || key == .coreWmemMax:
                affected.insert(.send)
                reasons.append("\(key) sizes what this machine sends: measured sending")
            case .sysctl(let key) where key == .tcpRmem || key == .coreRmemMax:
                affected.insert(.receive)
                reasons.append("\(key) sizes what this machine receives: measured receiving")
            default:
                affected.formUnion([.send, .receive])
                reasons.append("\(change.target) acts both ways: measured both")
            }
        }
        let order: [ProbeDirection] = [.send, .receive]
        let chosen = forced.map { $0.flatMap(\.ways) } ?? order.filter(affected.contains)
        directions = order.filter(chosen.contains)
        self.reasons = forced == nil ? reasons : ["directions chosen with --direction"]
        let missed = affected.subtracting(directions)
        warning =
            forced != nil && !missed.isEmpty && Set(directions).isDisjoint(with: affected)
            ? "the profile changes only what acts \(missed.map { $0 == .send ? "sending" : "receiving" }.sorted().joined(separator: " and ")): measuring \(directions.map { $0 == .send ? "sending" : "receiving" }.joined(separator: " and ")) cannot show its effect"
            : nil
    }
}

/// One direction's comparison: B/A of throughput and of CPU-seconds per GiB.
public struct DirectionComparison: Equatable, Sendable {
    public var throughput: Comparison?
    public var senderCPU: Comparison?
    public var receiverCPU: Comparison?
    public var verdict: Comparison.Verdict
}

/// What an A/B comparison found and left behind.
public struct ABResult: Sendable, Equatable {
    public var plan: Plan
    public var choice: DirectionChoice
    public var a: ProbeReport
    public var b: ProbeReport
    public var comparisons: [ProbeDirection: DirectionComparison]
    /// Better only when some direction is better and none is worse.
    public var verdict: Comparison.Verdict
    /// Whether the profile is applied now.
    public var keptB: Bool
    /// Why the history could not be written, if it could not.
    public var historyProblem: String?

    static func overall(_ verdicts: [Comparison.Verdict]) -> Comparison.Verdict {
        if verdicts.contains(.worse) { return .worse }
        if verdicts.contains(.better) { return .better }
        return .noDifference
    }
}

public enum ABTestError: Error, Equatable, CustomStringConvertible {
    case nothingToCompare(String)
    case badPairCount(Int, maximum: Int)
    case interrupted(pairsDone: Int, signal: Int32)
    case probeFailed(pairsDone: Int, cause: String)
    /// Going back to A failed: the profile may be partly applied.
    case undoFailed(cause: String)
    /// A setting the comparison varies was changed by something else during it.
    case changedUnderneath(pairsDone: Int, duringB: Bool, SettingDeparture)

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
        case .changedUnderneath(let done, let duringB, let departure):
            return "\(departure.target) changed during the comparison, not by nettune: \(duringB ? "B" : "A") has \(departure.expected), "
                + "\(departure.found) was found (after \(done) pair\(done == 1 ? "" : "s")); another tuner is at work here (bpftune, tuned, "
                + "a sysctl --system), and A and B would be mixed. Stop it and run again; "
                + (duringB ? "the original values (A) are in place" : "B is undone, and what that tuner set is left as it is")
        }
    }
}
