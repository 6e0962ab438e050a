import Foundation
import Synchronization
import SystemPackage

/// One iperf3 client's test on `nettune serve`: the server's half of iperf3's
/// control protocol, with nettune's drain and senders on the data connections
/// and the same limits as nettune's own clients. iperf3 has no queue: a client
/// that finds a test running is told ACCESS_DENIED ("busy"), as iperf3 does.
struct IperfServerSession {
    let shared: ServerShared
    let control: IperfControl
    let cookie: [UInt8]

    var configuration: ProbeServer.Configuration { shared.configuration }
    var connection: TCPConnection { control.connection }

    func run() -> ProbeServer.Event {
        var event = ProbeServer.Event(peer: connection.endpoint.description)
        event.peerProtocol = .iperf3
        let idle = shared.deadline(after: configuration.idleTimeout)

        // 1. Who may run at all: no token (iperf3 cannot present one), no waiting.
        if configuration.token != nil {
            try? control.send(.accessDenied, deadline: .after(.seconds(1)))
            event.outcome = .refused(.unauthorized, "an iperf3 client, but this server requires a token, which iperf3 cannot present")
            return event
        }
        guard let ticket = shared.queue.joinIfIdle() else {
            try? control.send(.accessDenied, deadline: .after(.seconds(1)))
            event.outcome = .refused(.busy, "busy: another probe is running (an iperf3 client cannot wait in the queue)")
            return event
        }
        defer { shared.queue.leave(ticket) }
        // Arrived as a `--once` server finished its probe: its port is closing.
        if let exiting = shared.exitingMessage {
            try? control.send(.accessDenied, deadline: .after(.seconds(1)))
            event.outcome = .refused(.failed, exiting)
            return event
        }

        // 2. The parameters, checked against this server's limits.
        let parameters: IperfParameters
        do {
            try control.send(.parameterExchange, deadline: idle)
            let body = try control.frame(
                limit: IperfWire.maxParametersSize, deadline: shared.deadline(after: configuration.idleTimeout), waiting: "the parameters")
            parameters = try IperfParameters(json: body)
        } catch let error as IperfWireError {
            return refuse(&event, code: 114, .badRequest, "unreadable iperf3 parameters: \(error)")
        } catch let error as IperfPeerError {
            return refuse(&event, code: 114, .badRequest, "\(error)")
        } catch {
            if shared.haltMessage != nil { return terminated(&event, during: "before the test") }
            event.outcome = .failed("the client went away before its parameters: \(error)")
            return event
        }
        event.direction = parameters.direction
        event.streams = parameters.streams
        event.method = .sendfile
        if let refusal = check(parameters) { return refuse(&event, code: refusal.code, refusal.status, refusal.message) }

        // 3. A fresh listener (today's tcp_rmem), then the data connections.
        shared.iperfRegistry.open(cookie, host: connection.endpoint.host, expected: parameters.connections)
        defer { shared.iperfRegistry.close(cookie) }
        shared.rotateListener(congestion: parameters.congestion)
        guard (try? control.send(.createStreams, deadline: idle)) != nil else {
            if shared.haltMessage != nil { return terminated(&event, during: "before the test") }
            event.outcome = .failed("the client went away before the transfer")
            return event
        }
        let connections: [TCPConnection]
        // The client says nothing until TEST_START unless it gives up (CLIENT_TERMINATE,
        // as 3.12 does when it cannot set up a stream) or hangs up: iperf3's own server
        // then resets at once, and so does this one.
        switch shared.iperfRegistry.collect(cookie, deadline: shared.deadline(after: configuration.idleTimeout), hungUp: { control.hasUnread }) {
        case .success(let all): connections = all
        case .failure(let shortfall):
            if shared.haltMessage != nil { return terminated(&event, during: "before the test") }
            let why = shortfall.describe(idleTimeout: configuration.idleTimeout)
            if shortfall.clientHungUp {
                event.outcome = .failed(why)
                return event
            }
            return refuse(&event, code: 204, .failed, why)
        }
        event.receiveBuffer = connections.map(\.receiveBufferBytes).min() ?? 0
        // iperf3 sets -C on every socket of the test, at both ends.
        if let congestion = parameters.congestion, let failure = ServerCongestion.apply(congestion, to: connections) {
            return refuse(&event, code: IperfErrorCode.setCongestion, .failed, failure)
        }
        if connections.count > parameters.clientSendingStreams {
            event.congestion = connections[parameters.clientSendingStreams].congestionControl
        }
        // -b holds each stream to a rate; iperf3's server throttles its sends to it,
        // this one has the kernel pace its sending sockets (a byte rate).
        if let rate = parameters.bandwidth {
            for stream in connections[parameters.clientSendingStreams...] { stream.setMaxPacingRate(bytesPerSecond: rate / 8) }
        }
        // The payload made (the first time) and read into the page cache first, so a
        // first -R run does not measure this machine's disk. iperf3 has no message
        // for it, but its client waits for TEST_START (3.12 waited out a 20 s delay
        // here in a test); the client says nothing until then, so anything readable
        // on its control connection, looked at every second, is its hang-up.
        var lastLook = ContinuousClock.now
        func checkClient() throws {
            guard ContinuousClock.now - lastLook >= .seconds(1) else { return }
            lastLook = .now
            if connection.isReadableNow { throw ClientGone() }
        }
        var payload: PayloadFile?
        if parameters.direction != .send {
            let started = ContinuousClock.now
            var made = false
            do {
                let file = try configuration.payload.resolve(interruption: shared.halt) { _, _ in
                    made = true
                    try checkClient()
                }
                payload = file
                // 0 when it was made before and all in the page cache, as the log says.
                event.payloadReadSeconds = made ? (ContinuousClock.now - started).seconds : 0
                if PayloadFile.pageCacheCanHold(file.size, meminfo: MemInfo.current()) {
                    event.payloadReadSeconds += try file.loadIntoPageCache(interruption: shared.halt) { _, _ in try checkClient() }.seconds
                }
            } catch let error as PayloadError {
                let problem = payload == nil ? "the server has nothing to send" : "the server could not read its payload"
                return refuse(&event, code: 101, .failed, "\(problem): \(error)")
            } catch is Interrupted {
                return terminated(&event, during: "before the test")
            } catch {
                event.outcome = .failed("the client went away while the server prepared its payload")
                return event
            }
        }
        guard (try? control.send(.testStart, deadline: idle)) != nil, (try? control.send(.testRunning, deadline: idle)) != nil else {
            if shared.haltMessage != nil { return terminated(&event, during: "before the test") }
            event.outcome = .failed("the client went away before the start")
            return event
        }

        // 4. The test, until the client says TEST_END.
        let outcome = transfer(connections, parameters: parameters, payload: payload)
        event.bytesReceived = outcome.streams.filter { !$0.serverSent }.reduce(0) { $0 + $1.bytes }
        event.bytesSent = outcome.streams.filter(\.serverSent).reduce(0) { $0 + $1.bytes }
        // The log's rate is over the counted time, as the figures are (`-O`'s seconds left out).
        event.seconds = max(0, outcome.seconds - Double(parameters.omitSeconds))
        event.cpu = outcome.cpu
        if let failure = outcome.failure {
            if shared.haltMessage != nil { return terminated(&event, during: "during the test", told: true) }
            event.outcome = .failed(failure)
            return event
        }

        // 5. Results both ways, then the end.
        do {
            try control.send(.exchangeResults, deadline: idle)
            let theirs = try control.frame(
                limit: IperfWire.maxResultsSize(streams: connections.count), deadline: shared.deadline(after: configuration.idleTimeout),
                waiting: "the client's results")
            _ = try IperfResults(json: theirs, maximumCPUs: PeerFigures.maximumCPUs)
            // The algorithm of a data socket (of a sending one, where the server sent).
            let congestion = event.congestion ?? connections.first?.congestionControl
            try control.send(try results(outcome, congestion: congestion).encoded(), deadline: .after(configuration.idleTimeout))
            try control.send(.displayResults, deadline: .after(configuration.idleTimeout))
        } catch {
            if shared.haltMessage != nil { return terminated(&event, during: "during the results exchange") }
            event.outcome = .failed("the results exchange failed: \(error)")
            return event
        }
        // IPERF_DONE closes the test; a client that just hangs up is as good.
        _ = try? control.state(deadline: shared.deadline(after: .seconds(2)), waiting: "IPERF_DONE")
        shared.markCompleted()
        return event
    }

    struct Refusal {
        var code: Int32
        var status: RefusedMessage.Status
        var message: String
    }

    /// Why this test cannot run here, if it cannot.
    private func check(_ parameters: IperfParameters) -> Refusal? {
        if parameters.transport != .tcp {
            return Refusal(
                code: IperfErrorCode.unimplemented, status: .badRequest,
                message: "a \(parameters.transport.rawValue.uppercased()) test; nettune serves TCP only")
        }
        if let congestion = parameters.congestion,
            let refusal = ServerCongestion.refusal(congestion, available: configuration.congestionControls())
        {
            return Refusal(code: IperfErrorCode.setCongestion, status: .badRequest, message: refusal)
        }
        if parameters.streams > configuration.maxStreams {
            return Refusal(
                code: IperfErrorCode.streams, status: .tooManyStreams,
                message: "\(parameters.streams) streams are more than this server allows (its limit is \(configuration.maxStreams))")
        }
        if let bytes = parameters.byteLimit, bytes > configuration.maxBytes {
            return Refusal(
                code: IperfErrorCode.duration, status: .tooLarge,
                message:
                    "a transfer of \(ByteCount(Int(clamping: bytes))) is more than this server accepts (its limit is \(ByteCount(Int(clamping: configuration.maxBytes))))"
            )
        }
        if parameters.byteLimit == nil, Duration.seconds(parameters.seconds + parameters.omitSeconds) > configuration.maxDuration {
            return Refusal(
                code: IperfErrorCode.duration, status: .tooLarge,
                message:
                    "a \(parameters.seconds) s run is longer than this server allows (its limit is \(TimeSpan.format(configuration.maxDuration)))")
        }
        if let bytes = parameters.byteLimit, let rate = parameters.bandwidth, Self.longest(parameters) > configuration.maxDuration {
            return Refusal(
                code: IperfErrorCode.duration, status: .tooLarge,
                message:
                    "\(ByteCount(Int(clamping: bytes))) at \(BitRate(bitsPerSecond: Double(rate))) a stream (-b) takes longer than this server allows (its limit is \(TimeSpan.format(configuration.maxDuration)))"
            )
        }
        return nil
    }

    /// A test the server was stopped under: the client is told SERVER_TERMINATE, as
    /// `iperf3 -s` tells it ("the server has terminated"), and the log says when.
    private func terminated(_ event: inout ProbeServer.Event, during phase: String, told: Bool = false) -> ProbeServer.Event {
        if !told { try? control.send(.serverTerminate, deadline: .after(.seconds(1))) }
        event.outcome = .failed("\(shared.haltMessage ?? "the server was stopped") \(phase)")
        return event
    }

    private func refuse(_ event: inout ProbeServer.Event, code: Int32, _ status: RefusedMessage.Status, _ message: String) -> ProbeServer.Event {
        try? control.send(IperfControl.serverErrorBytes(code: code, errno: 0), deadline: .after(.seconds(1)))
        event.outcome = .refused(status, message)
        return event
    }

    struct StreamTally: Sendable {
        var bytes: UInt64
        var seconds: Double
        /// The server sent on it (the client receives).
        var serverSent: Bool
        var retransmits: Int
    }

    struct Outcome {
        var streams: [StreamTally]
        var seconds: Double
        var cpu: CPUUsage
        var failure: String?
    }

    /// How long the test may take: its time, or its bytes at the slowest rate a
    /// probe is expected to move (or at what `-b` holds its streams to, if slower).
    static func longest(_ parameters: IperfParameters) -> Duration {
        guard let bytes = parameters.byteLimit else { return .seconds(parameters.seconds + parameters.omitSeconds) }
        let paced = parameters.bandwidth.map { Double($0) * Double(parameters.streams) } ?? .infinity
        return .seconds(min(Double(bytes) * 8 / min(ProbeRequest.minimumRate, paced), TimeSpan.maximum.seconds))
    }

    /// Every stream on its own thread until the client's TEST_END: the server
    /// drains the client's sending streams and sends on its receiving ones.
    private func transfer(_ connections: [TCPConnection], parameters: IperfParameters, payload: PayloadFile?) -> Outcome {
        let start = ContinuousClock.now
        let startCPU = CPUSample.now()
        let limit = Self.longest(parameters)
        let deadline = shared.deadline(after: min(limit, configuration.maxDuration) + configuration.idleTimeout * 2)
        let file = payload.flatMap { try? FileDescriptor.open(FilePath($0.path), .readOnly, options: [.closeOnExec]) }
        defer { try? file?.close() }
        let stopping = Atomic<Bool>(false)
        let tallies = Mutex<[Int: Result<StreamTally, SendableError>]>([:])
        let group = DispatchGroup()
        let senders = parameters.clientSendingStreams
        for (index, stream) in connections.enumerated() {
            // The client's sending streams come first; the server receives on them.
            let serverSends = index >= senders
            let share = parameters.byteLimit.map { ProbeClient.share(of: $0, stream: index % parameters.streams, streams: parameters.streams) }
            let work = IperfServerStream(
                connection: stream, serverSends: serverSends, bytes: share, start: start, deadline: deadline,
                idleTimeout: configuration.idleTimeout, drain: configuration.drain, file: file?.rawValue,
                fileSize: payload?.size ?? 0, blockSize: parameters.blockSize,
                omitUntil: parameters.omitSeconds > 0 ? start + .seconds(parameters.omitSeconds) : nil)
            group.enter()
            Thread.detachNewThread {
                let tally = work.run(stopping: stopping)
                tallies.withLock { $0[index] = tally.mapError(SendableError.init) }
                group.leave()
            }
        }
        // The client ends the test: wait for its TEST_END (or its hang-up), looking
        // at the streams every 250 ms (each wake-up runs beside the measured sender).
        var failure: String?
        let end = shared.deadline(after: min(limit, configuration.maxDuration) + configuration.idleTimeout)
        while true {
            let failed = tallies.withLock { $0.values.contains { if case .failure = $0 { true } else { false } } }
            if let halt = shared.haltMessage {
                // Looked at after the streams: one the halt failed is seen as the halt.
                // Told before its streams close, which then wait (at most a second)
                // for the client to hang up: iperf3's one-thread client, writing, would
                // otherwise meet the closed stream first and say "Broken pipe".
                try? control.send(.serverTerminate, deadline: .after(.seconds(1)))
                _ = try? Deadline.after(.seconds(1)).wait(for: Int16(POLLIN), on: connection.fd)
                failure = halt
                break
            }
            if failed {
                failure = "a stream failed"
                break
            }
            guard let ready = control.hasUnread ? true : try? end.capped(after: .milliseconds(250)).wait(for: Int16(POLLIN), on: connection.fd)
            else {
                // The halt ends the poll: the loop's next look says so.
                if shared.haltMessage != nil { continue }
                failure = "poll failed"
                break
            }
            if ready {
                let state = try? control.state(deadline: .after(configuration.idleTimeout), waiting: "TEST_END")
                if state != .testEnd {
                    failure =
                        state == .clientTerminate
                        ? "the client stopped the test (CLIENT_TERMINATE)"
                        : state.map { "the client sent \($0) during the test" } ?? "the client went away during the test"
                }
                break
            }
            if end.hasPassed {
                failure = "no TEST_END from the client within the test's time and \(TimeSpan.format(configuration.idleTimeout))"
                break
            }
        }
        stopping.store(true, ordering: .relaxed)
        let seconds = (ContinuousClock.now - start).seconds
        for stream in connections { stream.shutdownBoth() }
        group.wait()
        let cpu = CPUSample.now().since(startCPU)
        var streams: [StreamTally] = []
        for (index, tally) in tallies.withLock({ $0 }).sorted(by: { $0.key < $1.key }) {
            switch tally {
            case .success(let value): streams.append(value)
            case .failure(let error): failure = failure.map { "\($0): stream \(index): \(ServerStream.describe(error.underlying))" }
            }
        }
        return Outcome(streams: streams, seconds: seconds, cpu: cpu, failure: failure)
    }

    private func results(_ outcome: Outcome, congestion: String?) -> IperfResults {
        let elapsed = max(outcome.seconds, 1e-6)
        let percent = { (seconds: Double) in seconds / elapsed * 100 }
        let sent = outcome.streams.contains(where: \.serverSent)
        return IperfResults(
            cpuTotal: percent(outcome.cpu.processSeconds), cpuUser: percent(outcome.cpu.userSeconds), cpuSystem: percent(outcome.cpu.systemSeconds),
            senderHasRetransmits: sent ? 1 : -1, congestion: congestion,
            streams: outcome.streams.enumerated().map { index, stream in
                IperfResults.Stream(
                    id: IperfResults.streamID(index), bytes: stream.bytes,
                    retransmits: stream.serverSent ? stream.retransmits : -1, endTime: stream.seconds)
            })
    }
}

/// The client hung up while the server prepared.
private struct ClientGone: Error {}
