/// Runs a probe campaign: a warm-up, then `runs` rounds of every method,
/// interleaved with the order turned every round (A B C, C B A, A B C …) so slow
/// drift of the machine hits all methods alike: were A always first, a machine
/// that speeds up or slows down during the campaign would favour one end of the list.
public struct ProbeRunner<Store: SysctlStore, Links: LinkController> {
    /// More rounds than anyone waits for; it also keeps `runs × methods` far from overflow.
    public static var maximumRuns: Int { 1000 }

    public var transport: any ProbeTransport
    public var machine: LocalMachine<Store, Links>
    public var payload: PayloadFile
    public var methods: [ProbeMethod]
    public var runs: Int
    /// Bytes of the untimed warm-up transfer (0: none).
    public var warmupBytes: Int
    /// Streams in each direction, for the report.
    public var streams: Int

    public init(
        transport: any ProbeTransport, machine: LocalMachine<Store, Links>, payload: PayloadFile,
        methods: [ProbeMethod], runs: Int, warmupBytes: Int, streams: Int = 1
    ) {
        self.streams = streams
        self.transport = transport
        self.machine = machine
        self.payload = payload
        self.methods = methods
        self.runs = runs
        self.warmupBytes = warmupBytes
    }

    /// - Parameters:
    ///   - header: called once, when the first transfer is connected and before its
    ///     first byte, with a report of no runs yet: the peer's address, the payload,
    ///     this machine's kernel, congestion control and egress interface.
    ///   - progress: every progress of every transfer, intervals included. Leave
    ///     both nil when nothing is shown: the transfers then read no progress
    ///     counters (syscalls that would run beside the measured sender).
    public func run(header: ((ProbeHeader) -> Void)? = nil, progress: ((ProbeStage, ProbeProgress) -> Void)? = nil) throws -> ProbeReport {
        guard (1...Self.maximumRuns).contains(runs), !methods.isEmpty else {
            throw ProbeCampaignError.badRunCount(runs, maximum: Self.maximumRuns)
        }
        var headerSent = false
        let relay = { (stage: ProbeStage, step: ProbeProgress) in
            if !headerSent, let connected = step.connected {
                headerSent = true
                header?(self.header(connected))
            }
            progress?(stage, step)
        }
        // Without a listener the transport is given none, and reads no counters
        // during the measured window for it.
        func relaying(_ stage: ProbeStage) -> ((ProbeProgress) -> Void)? {
            header == nil && progress == nil ? nil : { relay(stage, $0) }
        }
        var payloadCache: PayloadCacheLoad?
        var peerPayloadCache: PayloadCacheLoad?
        if warmupBytes > 0, let first = methods.first {
            if transport.direction.ways.contains(.send) {
                progress?(.loadingPayload, ProbeProgress(method: first, bytes: 0, totalBytes: UInt64(payload.size), elapsed: .zero))
                payloadCache = try transport.loadPayload()
            }
            let warmup = try transport.run(first, limit: min(warmupBytes, payload.size), progress: relaying(.warmup))
            peerPayloadCache = warmup.peerPayloadCache
        }
        var results: [RunResult] = []
        var localAddress: String?
        var remoteAddress: String?
        var remote: TuningState?
        var changed: [String] = []
        // Toward the default route at both reads: the same link either way.
        let localBefore = machine.tuningState(localAddress: nil)
        let total = runs * methods.count
        for round in 0..<runs {
            for (i, method) in (round % 2 == 0 ? methods : methods.reversed()).enumerated() {
                let index = round * methods.count + i + 1
                let run = try transport.run(method, limit: nil, progress: relaying(.run(index: index, of: total)))
                results += run.results
                localAddress = localAddress ?? run.localAddress
                remoteAddress = remoteAddress ?? run.remoteAddress?.host
                if let first = remote, let now = run.remote, changed.isEmpty {
                    changed += first.tuningChanges(to: now).map { "the server's \($0)" }
                }
                remote = remote ?? run.remote
                peerPayloadCache = peerPayloadCache ?? run.peerPayloadCache
            }
        }
        changed = localBefore.tuningChanges(to: machine.tuningState(localAddress: nil)).map { "this machine's \($0)" } + changed
        var report = machine.report(
            peer: transport.peer, payload: payload, methods: methods, direction: transport.direction,
            streams: streams, runs: results, localAddress: localAddress, remote: remote)
        report.remoteAddress = remoteAddress
        report.payloadCache = payloadCache
        report.peerPayloadCache = peerPayloadCache
        report.tuningChangedDuringRuns = changed
        return report
    }
}

/// What a probe is about to measure, known once its first transfer is connected.
public struct ProbeHeader: Sendable {
    /// A report with this machine's environment and no runs.
    public var report: ProbeReport
    /// The address the peer's name resolved to, with its port.
    public var remoteAddress: String?
    public var runs: Int
    public var warmupBytes: Int
}

extension ProbeRunner {
    func header(_ connected: ConnectedAddresses) -> ProbeHeader {
        let report = machine.report(
            peer: transport.peer, payload: payload, methods: methods, direction: transport.direction,
            streams: streams, runs: [], localAddress: connected.local, remote: nil)
        return ProbeHeader(report: report, remoteAddress: connected.remote, runs: runs, warmupBytes: warmupBytes)
    }
}

/// Which part of a campaign is running.
public enum ProbeStage: Sendable {
    /// Reading the payload into the page cache (part of the warm-up).
    case loadingPayload
    case warmup
    case run(index: Int, of: Int)
}

public enum ProbeCampaignError: Error, Equatable, CustomStringConvertible {
    case badRunCount(Int, maximum: Int)

    public var description: String {
        switch self {
        case .badRunCount(let runs, let maximum): return "\(runs) runs: a probe makes 1 to \(maximum) runs"
        }
    }
}
