import Dispatch
import Foundation
import Glibc
import Synchronization
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
        }
        event.queuedSeconds = (ContinuousClock.now - queued).seconds

        // 3. A fresh listener, so the data connections see today's tcp_rmem; then
        //    "ready" with this machine's tuning, and the data connections.
        let session = SessionID.random()
        shared.registry.open(session, host: control.endpoint.host, expected: request.connections)
        shared.rotateListener()
        let tuning = configuration.tuning(control.localAddress?.host)
        guard
            (try? control.sendAll(
                ProbeMessage.ready(session: session, streams: request.connections, tuning: tuning).encoded(),
                deadline: .after(configuration.idleTimeout))) != nil
        else {
            event.outcome = .failed("the client went away before the transfer")
            return event
        }
        let connections: [TCPConnection]
        switch shared.registry.collect(session, deadline: .after(configuration.idleTimeout)) {
        case .success(let all):
            connections = all
        case .failure(let shortfall):
            return refuse(
                &event,
                RefusedMessage(
                    status: .failed,
                    message:
                        "the client opened \(shortfall.arrived) of the \(shortfall.expected) data connections it announced within \(TimeSpan.format(configuration.idleTimeout))"
                ))
        }
        event.receiveBuffer = connections.map(\.receiveBufferBytes).min() ?? 0

        // 4. The transfer.
        let payload: PayloadFile?
        do {
            payload = request.direction == .send ? nil : try configuration.payload.resolve()
        } catch {
            return refuse(&event, RefusedMessage(status: .failed, message: "the server has nothing to send: \(error)"))
        }
        guard (try? control.sendAll(ProbeMessage.go.encoded(), deadline: .after(configuration.idleTimeout))) != nil else {
            event.outcome = .failed("the client went away before the start")
            return event
        }
        let outcome = transfer(connections, payload: payload)
        event.bytesReceived = outcome.reports.filter { $0.direction == .send }.reduce(0) { $0 + $1.bytes }
        event.bytesSent = outcome.reports.filter { $0.direction == .receive }.reduce(0) { $0 + $1.bytes }
        event.seconds = outcome.seconds
        event.cpu = outcome.cpu

        // 5. The result.
        var result = ResultMessage(ok: outcome.failure == nil, message: outcome.failure ?? "")
        result.cpuUserNanoseconds = UInt64(outcome.cpu.userSeconds * 1e9)
        result.cpuSystemNanoseconds = UInt64(outcome.cpu.systemSeconds * 1e9)
        result.hostBusyNanoseconds = UInt64((outcome.cpu.hostBusySeconds ?? 0) * 1e9)
        result.hostSoftirqNanoseconds = UInt64((outcome.cpu.hostSoftirqSeconds ?? 0) * 1e9)
        result.hostTotalNanoseconds = UInt64((outcome.cpu.hostTotalSeconds ?? 0) * 1e9)
        result.streams = outcome.reports
        if let failure = outcome.failure { event.outcome = .failed(failure) }
        if (try? control.sendAll(ProbeMessage.result(result).encoded(), deadline: .after(configuration.idleTimeout))) == nil,
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
        if let duration = request.duration, duration > configuration.maxDuration {
            return RefusedMessage(
                status: .tooLarge,
                message:
                    "a \(TimeSpan.format(duration)) run is longer than this server allows (its limit is \(TimeSpan.format(configuration.maxDuration)))"
            )
        }
        return nil
    }

    private func refuse(_ event: inout ProbeServer.Event, _ refusal: RefusedMessage) -> ProbeServer.Event {
        try? control.sendAll(ProbeMessage.refused(refusal).encoded(), deadline: .after(.seconds(1)))
        event.outcome = .refused(refusal.status, refusal.message)
        return event
    }

    enum Turn {
        case turn
        case gone(String)
    }

    /// Waits in line, telling the client its position when it changes and every
    /// few seconds (so it can tell a queue from a dead server). A client that
    /// hangs up, talks out of turn, or outstays its own patience leaves the line.
    private func waitTurn(_ ticket: ProbeQueue.Ticket) -> Turn {
        let giveUp = ContinuousClock.now + request.queueWait + .seconds(1)
        var told: Int?
        var lastTold = ContinuousClock.now
        while true {
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
            if (try? Deadline.after(.milliseconds(50)).wait(for: Int16(POLLIN), on: control.fd)) == true {
                return .gone("the client left the queue")
            }
        }
    }

    struct Outcome {
        var reports: [StreamReport]
        var seconds: Double
        var cpu: CPUUsage
        var failure: String?
    }

    /// Every stream at once, each on its own thread: the server drains the client's
    /// send streams and sends the client's receive streams from its payload.
    private func transfer(_ connections: [TCPConnection], payload: PayloadFile?) -> Outcome {
        let length = request.length ?? configuration.maxBytes
        let deadline = Deadline.after(configuration.timeLimit(length: length, duration: request.duration))
        let start = ContinuousClock.now
        let startCPU = CPUSample.now()
        let file = payload.flatMap { try? FileDescriptor.open(FilePath($0.path), .readOnly, options: [.closeOnExec]) }
        defer { try? file?.close() }
        let results = Mutex<[Int: Result<StreamReport, SendableError>]>([:])
        let group = DispatchGroup()
        for (index, connection) in connections.enumerated() {
            let way = request.direction(ofStream: index)
            let share = ProbeClient.share(of: length, stream: index % request.streams, streams: request.streams)
            let work = ServerStream(
                index: index, connection: connection, direction: way, method: request.method,
                bytes: share, exact: request.length != nil, duration: request.duration.map { min($0, configuration.maxDuration) },
                start: start, deadline: deadline, idleTimeout: configuration.idleTimeout,
                drain: configuration.drain, file: file?.rawValue, fileSize: payload?.size ?? 0)
            group.enter()
            Thread.detachNewThread {
                let report = way == .send ? work.receive() : work.send()
                results.withLock { $0[index] = report.mapError(SendableError.init) }
                // One stream failing ends the others: their sockets are shut.
                if case .failure = report { for other in connections { other.shutdownBoth() } }
                group.leave()
            }
        }
        group.wait()
        let cpu = CPUSample.now().since(startCPU)
        let seconds = (ContinuousClock.now - start).seconds
        var reports: [StreamReport] = []
        var failure: String?
        for (index, outcome) in results.withLock({ $0 }).sorted(by: { $0.key < $1.key }) {
            switch outcome {
            case .success(let report): reports.append(report)
            case .failure(let error):
                let cause = error.underlying
                if failure == nil || !StreamWork.isCutOff(cause) { failure = "stream \(index): \(ServerStream.describe(cause))" }
            }
        }
        return Outcome(reports: reports, seconds: seconds, cpu: cpu, failure: failure)
    }
}

/// One stream on the server.
struct ServerStream: @unchecked Sendable {
    let index: Int
    let connection: TCPConnection
    /// From the client's view: `.send` means the server receives.
    let direction: ProbeDirection
    let method: ProbeMethod
    let bytes: UInt64
    /// Sized (exactly `bytes`) or timed (until the client ends it, at most `bytes`).
    let exact: Bool
    let duration: Duration?
    let start: ContinuousClock.Instant
    let deadline: Deadline
    let idleTimeout: Duration
    let drain: DrainMethod
    let file: Int32?
    let fileSize: Int

    /// Drains the client's bytes.
    func receive() -> Result<StreamReport, any Error> {
        Result { () throws -> StreamReport in
            let wait = TransferWait(deadline: deadline, stallTimeout: idleTimeout)
            let drainer = try Drainer(method: drain, socket: connection.fd, wait: wait)
            let receiveBuffer = connection.receiveBufferBytes
            var received: UInt64 = 0
            var first = start, last = start
            // One byte beyond a timed limit shows the client sent too much.
            while !exact || received < bytes {
                let want = Int(clamping: (bytes - min(received, bytes)) + (exact ? 0 : 1))
                let n = try drainer.drain(limit: max(1, want))
                if n == 0 {
                    guard !exact else { throw StreamFailure.closedEarly(received: received, expected: bytes) }
                    break
                }
                // From the first payload byte, as the probe times a run: the "go"
                // that starts the client may arrive late (retransmitted on a lossy
                // path), and that wait is not the transfer's.
                if received == 0 { first = .now }
                received += UInt64(n)
                last = .now
                if !exact && received > bytes { throw StreamFailure.tooMuch(limit: bytes) }
            }
            return StreamReport(
                index: index, direction: direction, bytes: received,
                nanoseconds: UInt64(max(0, (last - first).seconds) * 1e9), receiveBuffer: UInt32(clamping: receiveBuffer),
                sendBuffer: UInt32(clamping: connection.sendBufferBytes), tcpInfo: nil)
        }
    }

    /// Sends from the server's payload, then waits for the client to close its end
    /// (so every byte is acknowledged) and reads this socket's TCP_INFO.
    func send() -> Result<StreamReport, any Error> {
        Result { () throws -> StreamReport in
            guard let file, fileSize > 0 else { throw StreamFailure.noPayload }
            let wait = TransferWait(deadline: deadline, stallTimeout: idleTimeout)
            let sender = try FileSender(method: method, file: file, socket: connection.fd, bufferSize: 128 << 10, wait: wait)
            var sent: UInt64 = 0
            var offset = 0
            let clock = ContinuousClock()
            func more(_ limit: Int) throws {
                let count = min(ProbeClient.chunkSize, fileSize - offset, limit)
                try sender.send(offset: offset, count: count)
                sent += UInt64(count)
                offset = (offset + count) % fileSize
            }
            if exact {
                while sent < bytes { try more(Int(clamping: bytes - sent)) }
            } else {
                let duration = duration ?? .zero
                while clock.now - start < duration { try more(Int.max) }
            }
            let sentAt = ContinuousClock.now
            connection.shutdownWrite()
            // The client closes once it has everything; anything it sends is an error.
            let drainer = try Drainer(method: .trunc, socket: connection.fd, wait: TransferWait(deadline: deadline, stallTimeout: idleTimeout))
            if try drainer.drain(limit: 1) != 0 { throw StreamFailure.unexpectedData }
            return StreamReport(
                index: index, direction: direction, bytes: sent,
                nanoseconds: UInt64(max(0, (sentAt - start).seconds) * 1e9),
                receiveBuffer: UInt32(clamping: connection.receiveBufferBytes),
                sendBuffer: UInt32(clamping: connection.sendBufferBytes), tcpInfo: try connection.tcpInfo())
        }
    }

    enum StreamFailure: Error, CustomStringConvertible {
        case closedEarly(received: UInt64, expected: UInt64)
        case tooMuch(limit: UInt64)
        case noPayload
        case unexpectedData

        var description: String {
            switch self {
            case .closedEarly(let received, let expected):
                return "the client closed early after \(ByteCount(Int(clamping: received))) of \(ByteCount(Int(clamping: expected)))"
            case .tooMuch(let limit): return "the client sent more than this server accepts (its limit is \(ByteCount(Int(clamping: limit))))"
            case .noPayload: return "the server has no payload to send"
            case .unexpectedData: return "the client sent data on a stream it should only receive"
            }
        }
    }

    static func describe(_ error: any Error) -> String {
        if let timeout = error as? TransferTimeout {
            return timeout.kind == .stalled ? "the client stalled (\(timeout))" : "the client was too slow (\(timeout))"
        }
        return "\(error)"
    }
}
