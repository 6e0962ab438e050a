import Glibc

@testable import NetTune

/// A probe transport without a network: each run's throughput is a function of
/// the live (fake) sysctls, so a workflow's A and B runs see the tuning they ran
/// under. It can be told to fail, or to be interrupted, at a given run.
final class FakeTransport: ProbeTransport, @unchecked Sendable {
    let peer = Endpoint(host: "10.0.0.2", port: 9000)
    var direction: ProbeDirection = .send
    let store: FakeSysctlStore
    /// bit/s for a tcp_wmem value (sending) or tcp_rmem value (receiving);
    /// anything not listed runs at `otherRate`.
    var rates: [String: Double]
    var otherRate: Double
    /// A small deterministic wobble, so intervals have a spread.
    private var wobble = [1.0, 0.99, 1.01, 1.005, 0.995]
    /// How much faster each run is than the one before (0.03: 3 % of the first
    /// run's rate per run), as a machine that drifts during a comparison.
    var drift = 0.0

    /// Run numbers (1-based, every call counts, warm-up included) that fail or are interrupted.
    var failAt: Set<Int> = []
    var interruptAt: Set<Int> = []
    var interruption: Interruption?
    /// Called at the start of each run with its number.
    var onRun: ((Int) throws -> Void)?
    private(set) var runs = 0
    /// What `loadPayload` returns, or the error it throws; how often it was called.
    var payloadCache: PayloadCacheLoad?
    var loadFailure: (any Error)?
    private(set) var payloadLoads = 0
    /// What the server read of its payload before the run of each number.
    var peerPayloadCacheAt: [Int: PayloadCacheLoad] = [:]
    /// The TCP_INFO every run reports, and which end a receiving run's came from
    /// (a sending run's is this machine's).
    var tcpInfo = TCPInfo(kernelBytes: [])
    var tcpInfoFrom: ProbeEnd = .local
    private(set) var limits: [Int?] = []
    private(set) var directions: [ProbeDirection] = []
    private(set) var methods: [ProbeMethod] = []

    init(store: FakeSysctlStore, rates: [String: Double], otherRate: Double = 1e9) {
        self.store = store
        self.rates = rates
        self.otherRate = otherRate
    }

    func loadPayload() throws -> PayloadCacheLoad? {
        payloadLoads += 1
        if let loadFailure { throw loadFailure }
        return payloadCache
    }

    /// What the run of each number says while it waits (its place in a queue).
    var waitingAt: [Int: Int] = [:]

    func run(
        _ method: ProbeMethod, limit: Int?, direction: ProbeDirection?, progress: ((ProbeProgress) -> Void)?,
        waiting: ((ProbeProgress) -> Void)?
    ) throws -> ProbeRun {
        runs += 1
        if let position = waitingAt[runs] {
            (progress ?? waiting)?(ProbeProgress(method: method, bytes: 0, totalBytes: nil, elapsed: .zero, queuePosition: position))
        }
        limits.append(limit)
        let way = direction ?? self.direction
        directions.append(way)
        methods.append(method)
        try onRun?(runs)
        if interruptAt.contains(runs) {
            interruption?.trigger(SIGINT)
            throw Interrupted(signal: SIGINT)
        }
        if failAt.contains(runs) { throw ProbeFailedError(endpoint: peer, message: "the peer closed the connection early") }
        let base = store.values[way == .receive ? .tcpRmem : .tcpWmem].flatMap { rates[$0] } ?? otherRate
        let rate = base * wobble[runs % wobble.count] * (1 + drift * Double(runs - 1))
        let bytes = UInt64(limit ?? 64 << 20)
        let cpu = CPUUsage(userSeconds: 0.01, systemSeconds: 0.02, hostBusySeconds: 0.05, hostSoftirqSeconds: 0.01, hostTotalSeconds: 1)
        let results = way.ways.map { one in
            RunResult(
                method: method, direction: one, bytes: bytes, seconds: Double(bytes) * 8 / rate, sender: cpu, receiver: cpu,
                tcpInfo: tcpInfo, tcpInfoFrom: one == .send ? .local : tcpInfoFrom, intervals: [], congestion: "bbr", sendBufferBytes: 0,
                receiveBufferBytes: 0)
        }
        var run = ProbeRun(results: results, localAddress: "10.0.0.1", remoteAddress: nil, remote: TuningState(tcpRmem: "4096 131072 6291456"))
        run.peerPayloadCache = peerPayloadCacheAt[runs]
        return run
    }
}
