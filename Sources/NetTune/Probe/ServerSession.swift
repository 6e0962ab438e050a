import Glibc
import SystemPackage

/// One probe on the server: checks, the queue, a fresh listener, the data
/// connections, the transfer in every stream, and the result.
struct ServerSession {
    let shared: ServerShared
    let control: TCPConnection
    let reader: MessageReader
    let request: ProbeRequestMessage

    var configuration: ProbeServer.Configuration { shared.configuration }

    func run() -> ProbeServer.Event {
        control.setNoDelay()
        var event = ProbeServer.Event(peer: control.endpoint.description)
        event.method = request.method
        event.direction = request.direction
        event.streams = request.streams

        // 1. What may not run at all is refused at once, with the limit named.
        if let refusal = check() { return refuse(&event, refusal) }

        // 2. The queue.
        guard let ticket = shared.queue.join() else {
            return refuse(
                &event,
                RefusedMessage(
                    status: .busy,
                    message: shared.queue.limit == 0
                        ? "busy: another probe is running; try again when it finishes"
                        : "busy: another probe is running and \(shared.queue.limit) more are waiting; try again later"))
        }
        defer { shared.queue.leave(ticket) }
        let queued = ContinuousClock.now
        switch waitTurn(ticket) {
        case .turn: break
        case .gone(let why):
            event.outcome = .failed(why)
            return event
        case .halted:
            return stopped(&event, during: "while the client waited in the queue")
        case .exiting(let why):
            return refuse(&event, RefusedMessage(status: .failed, message: why))
        }
        event.queuedSeconds = (ContinuousClock.now - queued).seconds

        // 3. A fresh listener, so the data connections see today's tcp_rmem; then
        //    "ready" with this machine's tuning, and the data connections.
        let session = SessionID.random()
        shared.registry.open(session, host: control.endpoint.host, expected: request.connections)
        // The algorithm for the sockets this server sends on (-R, --bidir).
        shared.rotateListener(congestion: request.direction == .send ? nil : request.congestion)
        let tuning = configuration.tuning(control.localAddress?.host)
        guard
            (try? control.sendAll(
                ProbeMessage.ready(session: session, streams: request.connections, tuning: tuning).encoded(),
                deadline: shared.deadline(after: configuration.idleTimeout))) != nil
        else {
            if shared.haltMessage != nil { return stopped(&event, during: "before the transfer") }
            event.outcome = .failed("the client went away before the transfer")
            return event
        }
        let connections: [TCPConnection]
        // The client says nothing until "go": anything readable is its hang-up.
        switch shared.registry.collect(session, deadline: shared.deadline(after: configuration.idleTimeout), hungUp: { control.isReadableNow }) {
        case .success(let all):
            connections = all
        case .failure(let shortfall):
            if shared.haltMessage != nil { return stopped(&event, during: "before the transfer") }
            let why = shortfall.describe(idleTimeout: configuration.idleTimeout)
            if shortfall.clientHungUp {
                event.outcome = .failed(why)
                return event
            }
            return refuse(&event, RefusedMessage(status: .failed, message: why))
        }
        event.receiveBuffer = connections.map(\.receiveBufferBytes).min() ?? 0
        let sending = connections.indices.filter { request.direction(ofStream: $0) == .receive }.map { connections[$0] }
        if let congestion = request.congestion, let failure = ServerCongestion.apply(congestion, to: sending) {
            return refuse(&event, RefusedMessage(status: .failed, message: failure))
        }
        event.congestion = sending.first?.congestionControl

        // 4. The transfer, from a payload made and in the page cache.
        var payload: PayloadFile?
        if request.direction != .send {
            switch preparePayload() {
            case .ready(let file, let seconds):
                payload = file
                event.payloadReadSeconds = seconds
            case .clientGone:
                event.outcome = .failed("the client went away while the server prepared its payload")
                return event
            case .halted:
                return stopped(&event, during: "before the transfer")
            case .unusable(let reason):
                return refuse(&event, RefusedMessage(status: .failed, message: "the server has nothing to send: \(reason)"))
            case .unreadable(let reason):
                return refuse(&event, RefusedMessage(status: .failed, message: "the server could not read its payload: \(reason)"))
            }
        }
        guard (try? control.sendAll(ProbeMessage.go.encoded(), deadline: shared.deadline(after: configuration.idleTimeout))) != nil else {
            if shared.haltMessage != nil { return stopped(&event, during: "before the transfer") }
            event.outcome = .failed("the client went away before the start")
            return event
        }
        var outcome = transfer(connections, payload: payload)
        // Cut off by a stop: the client is told why in the result, and the log says so.
        if outcome.failure != nil, let halt = shared.haltMessage { outcome.failure = "\(halt) during the transfer" }
        if outcome.failure == nil, let early = Self.endedEarly(outcome, asked: request.duration, clientGone: control.isReadableNow) {
            outcome.failure = early
        }
        // What moved before a failure too: the log says how far a cut-off probe got.
        event.bytesReceived = outcome.received
        event.bytesSent = outcome.sent
        event.seconds = outcome.seconds
        event.cpu = outcome.cpu

        // 5. The result.
        var result = ResultMessage(
            ok: outcome.failure == nil, message: outcome.failure.map { shared.haltMessage == nil ? $0 : $0 + "; try again when it is back" } ?? "")
        result.cpuUserNanoseconds = UInt64(outcome.cpu.userSeconds * 1e9)
        result.cpuSystemNanoseconds = UInt64(outcome.cpu.systemSeconds * 1e9)
        result.hostBusyNanoseconds = UInt64((outcome.cpu.hostBusySeconds ?? 0) * 1e9)
        result.hostSoftirqNanoseconds = UInt64((outcome.cpu.hostSoftirqSeconds ?? 0) * 1e9)
        result.hostTotalNanoseconds = UInt64((outcome.cpu.hostTotalSeconds ?? 0) * 1e9)
        result.streams = outcome.reports
        if let failure = outcome.failure { event.outcome = .failed(failure) }
        // Stopped: a client that reads nothing must not hold the server's exit.
        let resultWait = shared.haltMessage == nil ? configuration.idleTimeout : .seconds(1)
        if (try? control.sendAll(ProbeMessage.result(result).encoded(), deadline: .after(resultWait))) == nil,
            outcome.failure == nil
        {
            event.outcome = .failed("could not send the result")
        }
        if case .completed = event.outcome { shared.markCompleted() }
        return event
    }

    /// Why this request cannot run here, if it cannot.
    private func check() -> RefusedMessage? {
        if let token = configuration.token, !constantTimeEqual(token, request.token) {
            return RefusedMessage(status: .unauthorized, message: "the token was not accepted")
        }
        if request.streams > configuration.maxStreams {
            return RefusedMessage(
                status: .tooManyStreams,
                message: "\(request.streams) streams are more than this server allows (its limit is \(configuration.maxStreams))")
        }
        if let length = request.length, length > configuration.maxBytes {
            return RefusedMessage(
                status: .tooLarge,
                message:
                    "a transfer of \(ByteCount(Int(clamping: length))) is more than this server accepts (its limit is \(ByteCount(Int(clamping: configuration.maxBytes))))"
            )
        }
        if let congestion = request.congestion,
            let refusal = ServerCongestion.refusal(congestion, available: configuration.congestionControls())
        {
            return RefusedMessage(status: .badRequest, message: refusal)
        }
        if let duration = request.duration, duration > configuration.maxDuration {
            return RefusedMessage(
                status: .tooLarge,
                message:
                    "a \(TimeSpan.format(duration)) run is longer than this server allows (its limit is \(TimeSpan.format(configuration.maxDuration)))"
            )
        }
        return nil
    }

    /// A client the server was stopped under before its transfer: told so, and logged.
    private func stopped(_ event: inout ProbeServer.Event, during phase: String) -> ProbeServer.Event {
        let halt = shared.haltMessage ?? "the server was stopped"
        try? control.sendAll(
            ProbeMessage.refused(RefusedMessage(status: .failed, message: "\(halt); try again when it is back")).encoded(),
            deadline: .after(.seconds(1)))
        event.outcome = .failed("\(halt) \(phase)")
        return event
    }

    private func refuse(_ event: inout ProbeServer.Event, _ refusal: RefusedMessage) -> ProbeServer.Event {
        try? control.sendAll(ProbeMessage.refused(refusal).encoded(), deadline: .after(.seconds(1)))
        event.outcome = .refused(refusal.status, refusal.message)
        return event
    }

    enum Turn {
        case turn
        case gone(String)
        case halted
        /// `--once` has served its probe: the port is closing, so no turn comes.
        case exiting(String)
    }

    /// Waits in line, telling the client its position when it changes and every
    /// few seconds (so it can tell a queue from a dead server). A client that
    /// hangs up, talks out of turn, or outstays its own patience leaves the line.
    private func waitTurn(_ ticket: ProbeQueue.Ticket) -> Turn {
        let giveUp = ContinuousClock.now + request.queueWait + .seconds(1)
        var told: Int?
        var lastTold = ContinuousClock.now
        while true {
            if shared.haltMessage != nil { return .halted }
            if let exiting = shared.exitingMessage { return .exiting(exiting) }
            let (position, waiting) = shared.queue.position(ticket)
            if position == 0 { return .turn }
            let now = ContinuousClock.now
            if now >= giveUp {
                try? control.sendAll(
                    ProbeMessage.refused(RefusedMessage(status: .busy, message: "busy: still queued after \(TimeSpan.format(request.queueWait))"))
                        .encoded(),
                    deadline: .after(.seconds(1)))
                return .gone("gave up in the queue after \(TimeSpan.format(request.queueWait))")
            }
            if told != position || now - lastTold >= .seconds(2) {
                guard
                    (try? control.sendAll(
                        ProbeMessage.queued(position: position, waiting: waiting).encoded(),
                        deadline: .after(.seconds(2)))) != nil
                else { return .gone("the client left the queue") }
                told = position
                lastTold = now
            }
            // Anything from the client while it waits is its hang-up (or garbage).
            if (try? shared.deadline(after: .milliseconds(50)).wait(for: Int16(POLLIN), on: control.fd)) == true {
                return .gone("the client left the queue")
            }
        }
    }

    enum Preparation {
        /// The payload, and the seconds spent making it and reading it in.
        case ready(PayloadFile, seconds: Double)
        case clientGone
        case halted
        /// It could not be made.
        case unusable(String)
        case unreadable(String)
    }

    /// Makes the payload if it is random bytes not made yet, then reads it into the
    /// page cache when some of it is not there, so the first run does not measure
    /// this machine's disk. The client is told ("preparing") at the first MiB made or
    /// before the first read, at least every second, and when done; a payload already
    /// made and all in the page cache says nothing. A payload the page cache cannot
    /// hold is not read in: the runs read that from the disk anyway.
    private func preparePayload() -> Preparation {
        let started = ContinuousClock.now
        var lastTold: ContinuousClock.Instant?
        var made = false
        func tell(read: Int, of size: Int, resident: Int?) throws {
            let message = PreparingMessage(
                bytes: UInt64(clamping: size), resident: resident.map { UInt64(clamping: $0) }, read: UInt64(clamping: read))
            try control.sendAll(ProbeMessage.preparing(message).encoded(), deadline: shared.deadline(after: configuration.idleTimeout))
            lastTold = .now
        }
        func due() -> Bool { lastTold.map { ContinuousClock.now - $0 >= .seconds(1) } ?? true }
        let payload: PayloadFile
        do {
            payload = try configuration.payload.resolve(interruption: shared.halt) { written, size in
                // Nothing of it was in the page cache: it did not exist.
                if !made || due() { try tell(read: written, of: size, resident: 0) }
                made = true
            }
        } catch is Interrupted {
            return .halted
        } catch let error as PayloadError {
            return .unusable("\(error)")
        } catch {
            return .clientGone
        }
        let making = made ? (ContinuousClock.now - started).seconds : 0
        do {
            guard PayloadFile.pageCacheCanHold(payload.size, meminfo: MemInfo.current()) else {
                if lastTold != nil { try tell(read: payload.size, of: payload.size, resident: nil) }
                return .ready(payload, seconds: making)
            }
            let load = try payload.loadIntoPageCache(interruption: shared.halt) { read, residentBefore in
                guard due() else { return }
                // Just made, it was told at 100 %: reading back what the page cache
                // let go of stays there (the client takes a step back for a fault).
                try tell(read: made ? payload.size : read, of: payload.size, resident: made ? 0 : residentBefore)
            }
            if lastTold != nil { try tell(read: payload.size, of: payload.size, resident: load.residentAfter) }
            return .ready(payload, seconds: making + load.seconds)
        } catch let error as PayloadError {
            return .unreadable("\(error)")
        } catch is Interrupted {
            return .halted
        } catch {
            return .clientGone
        }
    }

    /// Why a transfer whose streams all ended well is still no result: the client
    /// went away (it says nothing on its control connection until the result, so
    /// anything readable there is its hang-up), or a timed probe's streams ended long
    /// before its time — a client killed mid-run ends them as a finished one would.
    static func endedEarly(_ outcome: Outcome, asked duration: Duration?, clientGone: Bool) -> String? {
        if clientGone { return "the client went away during the transfer" }
        guard let duration, outcome.seconds < duration.seconds * 0.95 - 0.25 else { return nil }
        return String(format: "the client ended its streams after %.1f s of the %.1f s it asked for (stopped?)", outcome.seconds, duration.seconds)
    }

    struct Outcome {
        var reports: [StreamReport]
        /// Bytes the server received and sent, cut-off streams' included.
        var received: UInt64
        var sent: UInt64
        var seconds: Double
        var cpu: CPUUsage
        var failure: String?
    }

    /// Every stream at once, each on its own thread: the server drains the client's
    /// send streams and sends the client's receive streams from its payload.
    private func transfer(_ connections: [TCPConnection], payload: PayloadFile?) -> Outcome {
        let length = request.length ?? configuration.maxBytes
        let deadline = shared.deadline(after: configuration.timeLimit(length: length, duration: request.duration))
        let start = ContinuousClock.now
        let startCPU = CPUSample.now()
        let file = payload.flatMap { try? FileDescriptor.open(FilePath($0.path), .readOnly, options: [.closeOnExec]) }
        defer { try? file?.close() }
        let works = connections.enumerated().map { index, connection in
            ServerStream(
                index: index, connection: connection, direction: request.direction(ofStream: index), method: request.method,
                bytes: ProbeClient.share(of: length, stream: index % request.streams, streams: request.streams),
                exact: request.length != nil, duration: request.duration.map { min($0, configuration.maxDuration) },
                start: start, deadline: deadline, idleTimeout: configuration.idleTimeout,
                drain: configuration.drain, file: file?.rawValue, fileSize: payload?.size ?? 0)
        }
        let (results, moved) = ServerStream.run(works)
        let cpu = CPUSample.now().since(startCPU)
        let seconds = (ContinuousClock.now - start).seconds
        var reports: [StreamReport] = []
        var failure: String?
        for (index, outcome) in results.enumerated() {
            switch outcome {
            case .success(let report): reports.append(report)
            case .failure(let cause):
                if failure == nil || !StreamWork.isCutOff(cause) { failure = "stream \(index): \(ServerStream.describe(cause))" }
            }
        }
        let movedOn = { (way: ProbeDirection) in works.indices.filter { works[$0].direction == way }.reduce(UInt64(0)) { $0 + moved[$1] } }
        return Outcome(
            reports: reports, received: movedOn(.send), sent: movedOn(.receive), seconds: seconds, cpu: cpu, failure: failure)
    }
}
