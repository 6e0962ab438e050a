import SystemPackage

/// Progress of the run in flight, for a terminal line and live interval lines.
public struct ProbeProgress: Sendable {
    public var method: ProbeMethod
    /// Bytes the receivers have: acknowledged to this machine, or received by it.
    public var bytes: UInt64
    public var totalBytes: UInt64?
    public var elapsed: Duration
    /// While waiting in the server's queue: the position (1 = next).
    public var queuePosition: Int?
    /// While the server reads the payload it will send into its page cache.
    public var serverPreparing: PreparingMessage?
    /// Set once, when every connection is up and before the first payload byte:
    /// the addresses the run uses.
    public var connected: ConnectedAddresses?
    /// Intervals that ended since the last progress, per direction.
    public var intervals: [DirectedInterval]

    public init(
        method: ProbeMethod, bytes: UInt64, totalBytes: UInt64?, elapsed: Duration, queuePosition: Int? = nil,
        serverPreparing: PreparingMessage? = nil, connected: ConnectedAddresses? = nil, intervals: [DirectedInterval] = []
    ) {
        self.serverPreparing = serverPreparing
        self.method = method
        self.bytes = bytes
        self.totalBytes = totalBytes
        self.elapsed = elapsed
        self.queuePosition = queuePosition
        self.connected = connected
        self.intervals = intervals
    }
}

/// The local and remote addresses of a run's control connection.
public struct ConnectedAddresses: Sendable, Equatable {
    public var local: String?
    public var remote: String?

    public init(local: String?, remote: String?) {
        self.local = local
        self.remote = remote
    }
}

/// One interval of one direction of a run.
public struct DirectedInterval: Sendable, Equatable {
    public var direction: ProbeDirection
    public var interval: Interval

    public init(direction: ProbeDirection, interval: Interval) {
        self.direction = direction
        self.interval = interval
    }
}

/// One run as the transport saw it.
public struct ProbeRun: Sendable, Equatable {
    /// One result per direction measured (two with `--bidir`).
    public var results: [RunResult]
    /// The local address the connection used: which interface it left by.
    public var localAddress: String?
    /// The peer's address the connection reached.
    public var remoteAddress: SocketAddress?
    /// The server's tuning, as it reported it.
    public var remote: TuningState?
    /// What the server read of its payload into its page cache before this run;
    /// nil when it read nothing.
    public var peerPayloadCache: PayloadCacheLoad?

    public init(results: [RunResult], localAddress: String?, remoteAddress: SocketAddress? = nil, remote: TuningState? = nil) {
        self.results = results
        self.localAddress = localAddress
        self.remoteAddress = remoteAddress
        self.remote = remote
    }

    /// The first direction's result.
    public var result: RunResult { results[0] }
}

/// Whatever carries a probe to its peer: `ProbeClient` on a real network, a fake
/// in the workflows' unit tests.
public protocol ProbeTransport {
    var peer: Endpoint { get }
    /// The directions its runs measure.
    var direction: ProbeDirection { get }
    /// One run. `limit` moves only that many bytes per direction (a warm-up or a
    /// peer check); `direction` overrides the transport's own. `progress` hears
    /// everything; `waiting`, only the waits before the transfer (a place in the
    /// server's queue, the server reading its payload) — for a caller that shows
    /// those but not the transfer, whose progress is read beside the sender.
    /// - Throws: `Interrupted` when a signal ends it; other errors say what failed.
    func run(
        _ method: ProbeMethod, limit: Int?, direction: ProbeDirection?, progress: ((ProbeProgress) -> Void)?,
        waiting: ((ProbeProgress) -> Void)?
    ) throws -> ProbeRun
    /// Reads the payload this machine sends into the page cache, before the runs.
    /// - Throws: `Interrupted` on a signal, `PayloadError` when it cannot be read.
    func loadPayload() throws -> PayloadCacheLoad?
}

extension ProbeTransport {
    public func run(_ method: ProbeMethod, limit: Int?, progress: ((ProbeProgress) -> Void)?) throws -> ProbeRun {
        try run(method, limit: limit, direction: nil, progress: progress, waiting: nil)
    }
}

/// A client that carries out one `ProbeRequest` over a real network, in either
/// protocol: the peer, the directions and the payload are the request's.
public protocol RequestTransport: ProbeTransport {
    var request: ProbeRequest { get }
    /// A signal ends the run in flight at once (through `Interrupted`).
    var interruption: Interruption? { get }
}

extension RequestTransport {
    public var peer: Endpoint { request.endpoint }
    public var direction: ProbeDirection { request.direction }

    /// A probe that only receives has no file here to read.
    public func loadPayload() throws -> PayloadCacheLoad? {
        guard request.payload.isFile else { return nil }
        return try request.payload.loadIntoPageCache(interruption: interruption)
    }

    /// The file this probe sends, opened for its sending streams.
    func openPayload() throws -> FileDescriptor {
        guard request.payload.isFile else {
            throw PayloadError.unusable(path: "-", reason: "this probe only receives, so it made no file to send")
        }
        do {
            return try FileDescriptor.open(FilePath(request.payload.path), .readOnly, options: [.closeOnExec])
        } catch {
            throw PayloadError.unusable(path: request.payload.path, reason: "\(error)")
        }
    }
}
