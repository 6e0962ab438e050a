import Dispatch
import SystemPackage

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
            // On the sockets this machine sends on, before their handshake; the server
            // sets its own. A receiving socket's algorithm does nothing, and setting one
            // could only fail (a restricted algorithm, unprivileged) where the server
            // would have used it.
            let congestion = message.direction(ofStream: index) == .send ? request.congestion : nil
            let data =
                try control.remoteAddress.map {
                    try TCPConnection.connect(
                        $0, endpoint: request.endpoint, deadline: deadline(request.connectTimeout), options: options, congestion: congestion)
                }
                ?? TCPConnection.connect(
                    to: request.endpoint, deadline: deadline(request.connectTimeout), options: options, congestion: congestion)
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

    /// Stream `index`'s part of `total` bytes: equal shares, the remainder to the first.
    static func share(of total: UInt64, stream index: Int, streams: Int) -> UInt64 {
        let count = UInt64(max(1, streams))
        return total / count + (index == 0 ? total % count : 0)
    }
}
