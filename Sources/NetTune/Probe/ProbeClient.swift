import Dispatch
import Foundation
import Glibc
import Synchronization
import SystemPackage

/// What to send, where, and how.
public struct ProbeRequest: Sendable {
    public var endpoint: Endpoint
    /// The file this machine sends (send streams); receive streams use the server's.
    public var payload: PayloadFile
    /// The read/write buffer of the readwrite method.
    public var bufferSize: Int
    /// With a duration, the payload is sent again and again until it is up.
    public var duration: Duration?
    /// With an interval, acknowledged (or received) bytes are sampled at each boundary.
    public var interval: Duration?
    /// Per-socket congestion control (TCP_CONGESTION).
    public var congestion: String?
    public var token: [UInt8]
    public var connectTimeout: Duration
    /// How long to wait for each of the server's answers.
    public var replyTimeout: Duration
    /// A transfer in which nothing moves for this long has stalled.
    public var stallTimeout: Duration
    /// Send, receive (the server sends), or both at once.
    public var direction: ProbeDirection
    /// Streams in each direction.
    public var streams: Int
    /// How long to wait in the server's queue when another probe is running.
    public var queueTimeout: Duration
    /// How this machine discards what it receives.
    public var drain: DrainMethod
    /// The address family and local address of every connection (`-4`, `-6`, `--bind`).
    public var connect = ConnectOptions()

    public init(
        endpoint: Endpoint, payload: PayloadFile, bufferSize: Int = 128 << 10, duration: Duration? = nil,
        interval: Duration? = nil, congestion: String? = nil, token: [UInt8] = [],
        connectTimeout: Duration = .seconds(5), replyTimeout: Duration = .seconds(10),
        stallTimeout: Duration = .seconds(10), direction: ProbeDirection = .send, streams: Int = 1,
        queueTimeout: Duration = .seconds(120), drain: DrainMethod = .default
    ) {
        self.endpoint = endpoint
        self.payload = payload
        self.bufferSize = bufferSize
        self.duration = duration
        self.interval = interval
        self.congestion = congestion
        self.token = token
        self.connectTimeout = connectTimeout
        self.replyTimeout = replyTimeout
        self.stallTimeout = stallTimeout
        self.direction = direction
        self.streams = streams
        self.queueTimeout = queueTimeout
        self.drain = drain
    }

    /// Slower than this, a transfer is not worth waiting for: it bounds a sized
    /// run's time (230 MiB at 1 Mbit/s is 32 minutes).
    public static let minimumRate = 1e6

    /// The most a run of `bytes` per direction (or a timed run) may take before it
    /// is abandoned, however steadily a trickling peer keeps it moving.
    public func timeLimit(bytes: Int, timed: Bool) -> Duration {
        if timed, let duration { return duration + stallTimeout + replyTimeout }
        let seconds = min(Double(bytes) * 8 / Self.minimumRate, TimeSpan.maximum.seconds)
        return .seconds(60) + .milliseconds(Int64(seconds * 1000))
    }
}

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

/// The client end of a probe, protocol version 2.
public struct ProbeClient: RequestTransport, Sendable {
    public let request: ProbeRequest
    public let interruption: Interruption?

    public init(_ request: ProbeRequest, interruption: Interruption? = nil) {
        self.request = request
        self.interruption = interruption
    }

    public func run(
        _ method: ProbeMethod, limit: Int? = nil, direction: ProbeDirection? = nil,
        progress: ((ProbeProgress) -> Void)? = nil, waiting: ((ProbeProgress) -> Void)? = nil
    ) throws -> ProbeRun {
        let direction = direction ?? request.direction
        let timed = request.duration != nil && limit == nil
        let perDirection = UInt64(limit ?? request.payload.size)
        let told = progress ?? waiting
        let message = ProbeRequestMessage(
            direction: direction, method: method, streams: request.streams, length: timed ? nil : perDirection,
            duration: timed ? request.duration : nil, queueWait: request.queueTimeout, token: request.token,
            software: "nettune \(NetTuneVersion.current)",
            // Only where the server sends: a send-only probe asks nothing new of a server.
            congestion: direction == .send ? nil : request.congestion)
        func deadline(_ duration: Duration) -> Deadline { .after(duration, interruption: interruption) }

        // 1. Control: the request, the queue, "ready".
        let control = try TCPConnection.connect(to: request.endpoint, deadline: deadline(request.connectTimeout), options: request.connect)
        control.setNoDelay()
        let reader = MessageReader(connection: control, endpoint: request.endpoint, peerIsServer: true)
        try control.sendAll(ProbeMessage.request(message).encoded(), deadline: deadline(request.replyTimeout))
        let queueEnd = ContinuousClock.now + request.queueTimeout + request.replyTimeout
        var session: SessionID?
        var remote = TuningState()
        while session == nil {
            // While queued the server says so whenever the position changes, and at
            // least every 2 s; a server silent for longer is a stalled one.
            let wait = deadline(max(request.replyTimeout, .seconds(5))).capped(at: queueEnd)
            switch try reader.next(deadline: wait, waiting: "the server's answer") {
            case .queued(let position, _):
                told?(ProbeProgress(method: method, bytes: 0, totalBytes: nil, elapsed: .zero, queuePosition: position))
            case .ready(let id, let streams, let tuning):
                guard streams == message.connections else {
                    throw ProbeFailedError(
                        endpoint: request.endpoint, message: "the server offered \(streams) streams, not the \(message.connections) asked for")
                }
                session = id
                remote = tuning
            case .refused(let refused):
                throw ProbeRefusedError(endpoint: request.endpoint, refusal: refused)
            default:
                throw ProbeFailedError(endpoint: request.endpoint, message: "\(request.endpoint) broke the protocol: a message out of turn")
            }
        }
        guard let session else { throw ProbeFailedError(endpoint: request.endpoint, message: "no session") }

        // 2. Data connections, all to the same port, each introduced by the session.
        //    To the address the control connection reached (a name resolved once;
        //    a link-local address keeps its interface), from the same local address.
        let options = request.connect
        var connections: [TCPConnection] = []
        for index in 0..<message.connections {
            let data =
                try control.remoteAddress.map {
                    try TCPConnection.connect($0, endpoint: request.endpoint, deadline: deadline(request.connectTimeout), options: options)
                }
                ?? TCPConnection.connect(to: request.endpoint, deadline: deadline(request.connectTimeout), options: options)
            // On the sockets this machine sends on; the server sets its own. A receiving
            // socket's algorithm does nothing, and setting one could only fail (a
            // restricted algorithm, unprivileged) where the server would have used it.
            if let congestion = request.congestion, message.direction(ofStream: index) == .send {
                try data.setCongestionControl(congestion)
            }
            try data.sendAll(ProbeMessage.data(session: session, stream: index).encoded(), deadline: deadline(request.replyTimeout))
            connections.append(data)
        }
        let peerPayloadCache = try awaitGo(reader, method: method, progress: told)

        // 3. The transfer: one thread per stream, this one samples and watches.
        let file = direction == .receive ? nil : try openPayload()
        defer { try? file?.close() }
        progress?(
            ProbeProgress(
                method: method, bytes: 0, totalBytes: nil, elapsed: .zero,
                connected: ConnectedAddresses(local: control.localAddress?.host, remote: control.remoteAddress?.description)))
        let runDeadline = deadline(request.timeLimit(bytes: Int(clamping: perDirection), timed: timed))
        let clock = ContinuousClock()
        let startCPU = CPUSample.now()
        let start = clock.now
        let streams = StreamSet(count: message.connections)
        let workers = DispatchGroup()
        let works = connections.enumerated().map { index, connection in
            let share = Self.share(of: perDirection, stream: index % request.streams, streams: request.streams)
            return (
                way: message.direction(ofStream: index),
                work: StreamWork(
                    index: index, connection: connection, file: file?.rawValue, method: method, bytes: share,
                    timed: timed, duration: request.duration, start: start, deadline: runDeadline,
                    stallTimeout: request.stallTimeout, bufferSize: request.bufferSize, drain: request.drain)
            )
        }
        StreamWork.launch(works, streams: streams, group: workers)
        var sampler = IntervalSampler(
            interval: request.interval, start: start, runEnd: timed ? request.duration.map { start + $0 } : nil, connections: connections,
            message: message, streams: streams)
        var lastProgress = start
        // Woken at once when the last stream ends; meanwhile for a signal, a failed
        // stream and the intervals — every 50 ms while someone is shown progress or
        // intervals, else every 250 ms (each wake-up runs beside the measured sender).
        let tick: DispatchTimeInterval = progress == nil && request.interval == nil ? .milliseconds(250) : .milliseconds(50)
        while workers.wait(timeout: .now() + tick) == .timedOut {
            if interruption?.signal != nil || streams.failed {
                // Unblock every stream at once: each sees its socket shut and ends.
                for connection in connections { connection.shutdownBoth() }
            }
            let now = clock.now
            // The counters are read only when someone is told: each read is a
            // TCP_INFO per stream, beside the sender whose CPU is measured.
            let ended = sampler.sample(at: now)
            if let progress, now - lastProgress >= .milliseconds(250) || !ended.isEmpty {
                progress(
                    ProbeProgress(
                        method: method, bytes: sampler.total(), totalBytes: timed ? nil : perDirection * UInt64(direction.ways.count),
                        elapsed: now - start, intervals: ended))
                lastProgress = now
            }
        }
        try interruption?.check()
        let outcomes: [StreamOutcome]
        do {
            outcomes = try streams.outcomes()
        } catch {
            throw explained(error, reader: reader, interruption: interruption)
        }

        // 4. The server's figures, once it has drained and sent everything.
        let reply = try reader.next(deadline: runDeadline.capped(after: request.replyTimeout + request.stallTimeout), waiting: "the result")
        let end = clock.now
        let endCPU = CPUSample.now()
        guard case .result(let result) = reply else {
            throw ProbeFailedError(endpoint: request.endpoint, message: "\(request.endpoint) broke the protocol: expected the result")
        }
        guard result.ok else {
            throw ProbeFailedError(
                endpoint: request.endpoint,
                message: result.message.isEmpty ? "the transfer failed" : "the server says: " + PeerText.sanitized(result.message))
        }
        let last = sampler.sample(at: end, final: true)
        if !last.isEmpty {
            progress?(ProbeProgress(method: method, bytes: sampler.total(), totalBytes: nil, elapsed: end - start, intervals: last))
        }
        let elapsed = (end - start).seconds
        let serverCPU = try PeerFigures.cpu(of: result, elapsed: elapsed, endpoint: request.endpoint)
        let localCPU = endCPU.since(startCPU)

        var results: [RunResult] = []
        for way in direction.ways {
            var streamResults: [StreamResult] = []
            var senderInfos: [(TCPInfo, sendBuffer: Int)] = []
            for (index, connection) in connections.enumerated() where message.direction(ofStream: index) == way {
                let outcome = outcomes[index]
                guard let report = result.streams.first(where: { $0.index == index && $0.direction == way }) else {
                    throw ProbeFailedError(endpoint: request.endpoint, message: "the server's result lacks stream \(index)")
                }
                let stream = try PeerFigures.stream(
                    report, moved: outcome.bytes, localSeconds: outcome.seconds, elapsed: elapsed,
                    direction: way, endpoint: request.endpoint)
                let info: TCPInfo?
                let sendBuffer: Int
                let receiveBuffer: Int
                if way == .send {
                    info = try connection.tcpInfo()
                    sendBuffer = connection.sendBufferBytes
                    receiveBuffer = Int(report.receiveBuffer)
                } else {
                    info = report.tcpInfo
                    sendBuffer = Int(report.sendBuffer)
                    receiveBuffer = connection.receiveBufferBytes
                }
                if let info { senderInfos.append((info, sendBuffer)) }
                streamResults.append(
                    StreamResult(
                        index: index, bytes: stream.bytes, seconds: stream.seconds, tcpInfo: info,
                        sendBufferBytes: sendBuffer, receiveBufferBytes: receiveBuffer))
            }
            let (info, sendBuffer) = RunResult.aggregate(senderInfos)
            results.append(
                RunResult(
                    method: method, direction: way, bytes: streamResults.reduce(0) { $0 + $1.bytes },
                    seconds: streamResults.map(\.seconds).max() ?? 0,
                    sender: way == .send ? localCPU : serverCPU, receiver: way == .send ? serverCPU : localCPU,
                    tcpInfo: info, tcpInfoFrom: way == .send ? .local : .peer, streams: streamResults,
                    intervals: sampler.intervals(way), congestion: congestion(of: way, connections, remote: remote),
                    sendBufferBytes: sendBuffer, receiveBufferBytes: streamResults.map(\.receiveBufferBytes).min() ?? 0))
        }
        var run = ProbeRun(results: results, localAddress: control.localAddress?.host, remoteAddress: control.remoteAddress, remote: remote)
        run.peerPayloadCache = peerPayloadCache
        return run
    }

    /// The congestion control that sent `way`'s bytes: this machine's socket's, or
    /// the server's (which used the one asked for, or refused).
    private func congestion(of way: ProbeDirection, _ connections: [TCPConnection], remote: TuningState) -> String? {
        way == .send ? connections.first?.congestionControl : request.congestion ?? remote.congestion
    }

    /// The longest a server may spend making its payload and reading it into its
    /// page cache before "go" (a 256 MiB payload takes 13 s from a 20 MB/s SD card).
    public static let preparationLimit: Duration = .seconds(120)

    /// Why a stream failed, from the server when it said: a server that ends a
    /// transfer (stopped, or its own limit) sends its reason on the control
    /// connection before it closes the streams, and "the server says: … stopped"
    /// tells more than the reset the stream saw.
    private func explained(_ failure: any Error, reader: MessageReader, interruption: Interruption?) -> any Error {
        if failure is Interrupted { return failure }
        let reply = try? reader.next(deadline: .after(.seconds(1), interruption: interruption), waiting: "the server's reason")
        switch reply {
        case .result(let result)? where !result.ok && !result.message.isEmpty:
            return ProbeFailedError(endpoint: request.endpoint, message: "the server says: " + PeerText.sanitized(result.message))
        case .refused(let refused)?:
            return ProbeRefusedError(endpoint: request.endpoint, refusal: refused)
        default:
            return failure
        }
    }

    /// Waits for "go". A server that first makes the payload it will send, or reads
    /// it into its page cache, says so ("preparing") at least every second, and is
    /// waited for up to `preparationLimit`.
    /// - Returns: what the server found in its page cache and prepared; nil when it
    ///   did nothing.
    private func awaitGo(_ reader: MessageReader, method: ProbeMethod, progress: ((ProbeProgress) -> Void)?) throws -> PayloadCacheLoad? {
        let limit = ContinuousClock.now + Self.preparationLimit
        var first: (message: PreparingMessage, at: ContinuousClock.Instant)?
        var last: PreparingMessage?
        while true {
            let wait = Deadline.after(request.replyTimeout, interruption: interruption).capped(at: limit)
            switch try reader.next(deadline: wait, waiting: first == nil ? "the start signal" : "the server to prepare its payload")
            {
            case .go:
                guard let first, let last else { return nil }
                return PayloadCacheLoad(
                    bytes: Int(clamping: first.message.bytes), residentBefore: first.message.resident.map { Int(clamping: $0) },
                    residentAfter: last.resident.map { Int(clamping: $0) }, seconds: (ContinuousClock.now - first.at).seconds)
            case .preparing(let preparing):
                // One payload, read forward: anything else is not a server reading a file.
                if let last, preparing.bytes != last.bytes || preparing.read < last.read {
                    throw ProbeFailedError(
                        endpoint: request.endpoint,
                        message:
                            "\(request.endpoint) broke the protocol: its payload went from \(last.read) of \(last.bytes) bytes read to \(preparing.read) of \(preparing.bytes)"
                    )
                }
                first = first ?? (preparing, ContinuousClock.now)
                last = preparing
                progress?(ProbeProgress(method: method, bytes: 0, totalBytes: nil, elapsed: .zero, serverPreparing: preparing))
            case .refused(let refused):
                throw ProbeRefusedError(endpoint: request.endpoint, refusal: refused)
            default:
                throw ProbeFailedError(endpoint: request.endpoint, message: "\(request.endpoint) broke the protocol: expected the start signal")
            }
        }
    }

    private func openPayload() throws -> FileDescriptor {
        guard request.payload.isFile else {
            throw PayloadError.unusable(path: "-", reason: "this probe only receives, so it made no file to send")
        }
        do {
            return try FileDescriptor.open(FilePath(request.payload.path), .readOnly, options: [.closeOnExec])
        } catch {
            throw PayloadError.unusable(path: request.payload.path, reason: "\(error)")
        }
    }

    /// Stream `index`'s part of `total` bytes: equal shares, the remainder to the first.
    static func share(of total: UInt64, stream index: Int, streams: Int) -> UInt64 {
        let count = UInt64(max(1, streams))
        return total / count + (index == 0 ? total % count : 0)
    }
}

/// What one stream moved, as this machine saw it.
struct StreamOutcome: Sendable {
    var bytes: UInt64
    /// For a receive stream: start to its last byte here.
    var seconds: Double
}

/// The streams' shared state: what each moved so far (for progress), and how each ended.
final class StreamSet: Sendable {
    /// One stream's count. Atomics, not a lock: a stream adds to its own after every
    /// bulk call, and that call's user-space share is what sender CPU is compared on.
    private final class Counter: Sendable { let bytes = Atomic<UInt64>(0) }
    private let counters: [Counter]
    private let ended = Mutex<[Int: Result<StreamOutcome, SendableError>]>([:])

    init(count: Int) {
        counters = (0..<count).map { _ in Counter() }
    }

    func add(_ count: Int, to index: Int) {
        counters[index].bytes.add(UInt64(count), ordering: .relaxed)
    }

    func moved(_ index: Int) -> UInt64 { counters[index].bytes.load(ordering: .relaxed) }

    func finish(_ index: Int, _ outcome: Result<StreamOutcome, any Error>) {
        ended.withLock { $0[index] = outcome.mapError(SendableError.init) }
    }

    var failed: Bool {
        ended.withLock { $0.values.contains { if case .failure = $0 { return true } else { return false } } }
    }

    func isFinished(_ index: Int) -> Bool { ended.withLock { $0[index] != nil } }

    /// Every stream's outcome, in order, or why the transfer failed: a signal
    /// first (it is why the others were cut off), then the first real cause rather
    /// than the closed sockets of the streams cut off after it.
    func outcomes() throws -> [StreamOutcome] {
        let all = ended.withLock { $0 }.sorted { $0.key < $1.key }
        let causes = all.compactMap { entry -> (any Error)? in
            if case .failure(let box) = entry.value { return box.underlying } else { return nil }
        }
        if let interrupted = causes.first(where: { $0 is Interrupted }) { throw interrupted }
        if let cause = causes.first(where: { !StreamWork.isCutOff($0) }) ?? causes.first { throw cause }
        return all.map { entry in
            if case .success(let outcome) = entry.value { return outcome }
            return StreamOutcome(bytes: 0, seconds: 0)
        }
    }
}

/// An error carried across threads. Errors here are value types from this
/// library (and `Errno`).
struct SendableError: Error, @unchecked Sendable {
    let underlying: any Error
    init(_ underlying: any Error) { self.underlying = underlying }
}

/// One stream's transfer, as `StreamPump` runs it.
struct StreamWork: @unchecked Sendable {
    let index: Int
    let connection: TCPConnection
    let file: Int32?
    let method: ProbeMethod
    /// Bytes to move (sized), or the bound of a timed run.
    let bytes: UInt64
    let timed: Bool
    let duration: Duration?
    let start: ContinuousClock.Instant
    let deadline: Deadline
    let stallTimeout: Duration
    let bufferSize: Int
    let drain: DrainMethod
    /// Half-closes the socket when done: nettune's server reads to the end; an
    /// iperf3 server is told the end on the control connection instead.
    var closesWhenDone = true

    /// The stream, ready for its direction's pump.
    func pumped(_ streams: StreamSet, way: ProbeDirection) throws -> any PumpedStream {
        let wait = TransferWait(deadline: deadline, stallTimeout: stallTimeout)
        let index = index
        let moved = { (count: Int) in streams.add(count, to: index) }
        if way == .receive {
            // Our FIN tells a nettune server every byte arrived: it reads its TCP_INFO then.
            return try ReceivingStream(
                connection: connection, drain: drain, limit: .none, shutsWhenDone: closesWhenDone,
                gathers: closesWhenDone && LowWater.helps(method), wait: wait,
                moved: moved)
        }
        guard let file else { throw PayloadError.unusable(path: "-", reason: "no payload") }
        var info = stat()
        try Syscall.call { fstat(file, &info) }
        return try SendingStream(
            connection: connection, file: file, fileSize: Int(info.st_size), method: method, bufferSize: bufferSize,
            budget: timed ? .max : bytes, endsAt: timed ? start + (duration ?? .zero) : nil,
            finish: closesWhenDone ? .shutdownWrite : .keepOpen, wait: wait, moved: moved)
    }

    /// What a finished stream moved, and for how long: a sender until its last
    /// byte went to the kernel, a receiver until its last byte arrived.
    func outcome(of stream: any PumpedStream) -> StreamOutcome {
        if let sending = stream as? SendingStream {
            return StreamOutcome(bytes: sending.sent, seconds: ((sending.sentAt ?? .now) - start).seconds)
        }
        let receiving = stream as? ReceivingStream
        return StreamOutcome(bytes: receiving?.received ?? 0, seconds: max(0, ((receiving?.last ?? start) - start).seconds))
    }

    /// Runs `works` in the background — a thread per stream — and records every
    /// stream's outcome in `streams`; leaves `group` at the end.
    static func launch(_ works: [(way: ProbeDirection, work: StreamWork)], streams: StreamSet, group: DispatchGroup) {
        group.enter()
        Thread.detachNewThread {
            defer { group.leave() }
            var pumped: [any PumpedStream] = []
            for (way, work) in works {
                do {
                    pumped.append(try work.pumped(streams, way: way))
                } catch {
                    streams.finish(work.index, .failure(error))
                    for (_, other) in works where other.index != work.index { streams.finish(other.index, .failure(StreamCutOff())) }
                    return
                }
            }
            let ready = pumped
            _ = StreamPump.run(ready) { position, result in
                let work = works[position].work
                streams.finish(work.index, result.map { work.outcome(of: ready[position]) })
            }
        }
    }

    /// The failure of a stream whose socket was shut because another stream failed.
    static func isCutOff(_ error: any Error) -> Bool {
        let errno = (error as? SendError)?.errno ?? (error as? Errno)
        if error is StreamCutOff { return true }
        return errno == .brokenPipe || errno == .connectionReset || errno == .badFileDescriptor || errno == .socketNotConnected
    }
}

/// Acknowledged (send) and received (receive) bytes at each interval boundary,
/// per direction, summed over streams.
struct IntervalSampler {
    let interval: Duration?
    let start: ContinuousClock.Instant
    /// Where a timed run ends: its last interval is closed by the final sample.
    let runEnd: ContinuousClock.Instant?
    let connections: [TCPConnection]
    let message: ProbeRequestMessage
    let streams: StreamSet
    private var next: ContinuousClock.Instant?
    private var last: ContinuousClock.Instant
    private var previous: [ProbeDirection: UInt64] = [:]
    private var collected: [ProbeDirection: [Interval]] = [:]
    private var previousRetransmits: UInt32 = 0

    init(
        interval: Duration?, start: ContinuousClock.Instant, runEnd: ContinuousClock.Instant?, connections: [TCPConnection],
        message: ProbeRequestMessage, streams: StreamSet
    ) {
        self.interval = interval
        self.start = start
        self.runEnd = runEnd
        self.connections = connections
        self.message = message
        self.streams = streams
        next = interval.map { start + $0 }
        last = start
    }

    /// What the receivers have now in `way`: for a stream this machine sends, what
    /// the peer acknowledged (not what was handed to the kernel, which runs ahead of
    /// the link); for one it receives, what arrived in the kernel while the stream
    /// runs (a receiver that gathers reads up to 128 KiB behind it), and what was
    /// read once it has ended (exact, so the intervals add up to the run).
    func current(_ way: ProbeDirection) -> UInt64 {
        var sum: UInt64 = 0
        for (index, connection) in connections.enumerated() where message.direction(ofStream: index) == way {
            if way == .send {
                sum &+= (try? connection.tcpInfo().bytesAcked).flatMap { $0 } ?? 0
            } else {
                let read = streams.moved(index)
                let arrived = streams.isFinished(index) ? nil : (try? connection.tcpInfo())?.payloadBytesReceived
                sum &+= max(read, arrived ?? read)
            }
        }
        return sum
    }

    /// What the receivers have now, over every direction.
    func total() -> UInt64 { message.direction.ways.reduce(0) { $0 &+ current($1) } }

    /// At an interval boundary (or the end) samples the byte counts, closes the
    /// interval of each direction and returns them; before one, reads nothing.
    /// A boundary at or past a timed run's end is left to the final sample: a tick
    /// that wins the race with the streams' end would otherwise close the run's
    /// last second on time and leave a sliver of the tail as one more interval.
    @discardableResult
    mutating func sample(at now: ContinuousClock.Instant, final: Bool = false) -> [DirectedInterval] {
        let ways = message.direction.ways
        guard let interval, let boundary = next, now > last else { return [] }
        guard final || (now >= boundary && runEnd.map { boundary < $0 } ?? true) else { return [] }
        var ended: [DirectedInterval] = []
        for way in ways {
            let value = current(way)
            var closed = Interval(start: (last - start).seconds, end: (now - start).seconds, bytes: value &- previous[way, default: 0])
            if way == .send {
                let infos = connections.indices.filter { message.direction(ofStream: $0) == way }.compactMap { try? connections[$0].tcpInfo() }
                if !infos.isEmpty {
                    let retransmits = infos.reduce(UInt32(0)) { $0 &+ $1.totalRetransmits }
                    closed.retransmits = retransmits &- previousRetransmits
                    previousRetransmits = retransmits
                    closed.congestionWindowBytes = infos.reduce(UInt64(0)) { $0 &+ UInt64($1.sndCwnd) &* UInt64($1.sndMSS) }
                    closed.rttMicroseconds = UInt32(infos.reduce(UInt64(0)) { $0 + UInt64($1.rttMicroseconds) } / UInt64(infos.count))
                }
            }
            collected[way, default: []].append(closed)
            ended.append(DirectedInterval(direction: way, interval: closed))
            previous[way] = value
        }
        last = now
        next = boundary + interval * Int((now - boundary).seconds / interval.seconds + 1)
        return ended
    }

    func intervals(_ way: ProbeDirection) -> [Interval] { collected[way] ?? [] }
}

/// Reads whole protocol messages from a control connection.
final class MessageReader {
    let connection: TCPConnection
    let endpoint: Endpoint
    /// This end is the client: a foreign answer is a server's.
    let peerIsServer: Bool
    private var buffer: [UInt8] = []

    init(connection: TCPConnection, endpoint: Endpoint, peerIsServer: Bool) {
        self.connection = connection
        self.endpoint = endpoint
        self.peerIsServer = peerIsServer
    }

    /// The first `count` bytes, read if need be but left for `next` or `take`.
    /// - Throws: when the peer closes or is silent before `count` arrive.
    func peek(_ count: Int, deadline: Deadline) throws -> [UInt8] {
        while buffer.count < count {
            let more = try connection.receiveSome(limit: 16 << 10, deadline: deadline)
            if more.isEmpty {
                throw ProbeFailedError(endpoint: endpoint, message: "\(endpoint) closed the connection after \(buffer.count) bytes")
            }
            buffer += more
        }
        return Array(buffer.prefix(count))
    }

    /// Removes and returns up to `count` buffered bytes.
    func take(_ count: Int) -> [UInt8] {
        let taken = Array(buffer.prefix(count))
        buffer.removeFirst(taken.count)
        return taken
    }

    var bufferedCount: Int { buffer.count }

    func next(deadline: Deadline, waiting what: String) throws -> ProbeMessage {
        while true {
            let decoded: (message: ProbeMessage, size: Int)?
            do {
                decoded = try ProbeMessage.decode(buffer)
            } catch {
                throw failure(error)
            }
            if let decoded {
                buffer.removeFirst(decoded.size)
                return decoded.message
            }
            let more: [UInt8]
            do {
                more = try connection.receiveSome(limit: 16 << 10, deadline: deadline)
            } catch let error as ConnectionError where error.errno == .timedOut {
                throw ProbeFailedError(endpoint: endpoint, message: "no answer from \(endpoint) within the time allowed (waiting for \(what))")
            }
            if more.isEmpty {
                throw ProbeFailedError(endpoint: endpoint, message: "\(endpoint) closed the connection early (waiting for \(what))")
            }
            buffer += more
        }
    }
}

extension MessageReader {
    func failure(_ error: ProbeWireError) -> any Error {
        switch error {
        case .versionMismatch: return ProbeVersionMismatch(endpoint: endpoint, detail: error)
        default:
            return ProbeProtocolError(endpoint: endpoint, detail: error, received: Array(buffer.prefix(64)), peerIsServer: peerIsServer)
        }
    }
}

/// The server said no: busy, a bad token, a request too large, another version.
public struct ProbeRefusedError: Error, CustomStringConvertible, Equatable {
    public var endpoint: Endpoint
    public var refusal: RefusedMessage
    public var description: String { "\(endpoint) refused the probe: \(PeerText.sanitized(refusal.message))" }
}

/// The peer speaks another version of the probe protocol.
public struct ProbeVersionMismatch: Error, CustomStringConvertible, Equatable {
    public var endpoint: Endpoint
    public var detail: ProbeWireError
    public var description: String { "\(endpoint): \(detail)" }
}

/// The peer sent bytes that are not the probe protocol.
public struct ProbeProtocolError: Error, CustomStringConvertible, Equatable {
    public var endpoint: Endpoint
    public var detail: ProbeWireError
    /// The first bytes the peer sent (at most 64), to say what it is instead.
    public var received: [UInt8] = []
    /// The peer is the server: an iperf3 server's answer is recognised.
    public var peerIsServer = false

    public var description: String {
        if peerIsServer, ForeignAnswer.isIperf3Server(received) {
            var iperf3 = endpoint
            iperf3.peerProtocol = .iperf3
            return "\(endpoint) answered as an iperf3 server does, not as `nettune serve`: to measure against it, name it \(iperf3)"
        }
        return "\(endpoint) does not speak nettune's probe protocol: \(detail)\(whatItSent)"
    }

    /// "; it sent "SSH-2.0-OpenSSH_9.2"" when the peer's first line is text, else "".
    public var whatItSent: String { ForeignAnswer.quotedLine(received).map { "; it sent \($0)" } ?? "" }
}

/// The transfer did not complete.
public struct ProbeFailedError: Error, CustomStringConvertible, Equatable {
    public var endpoint: Endpoint
    public var message: String
    public var description: String { message }
}
