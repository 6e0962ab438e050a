import Foundation
import Synchronization
import SystemPackage

/// `nettune serve`: the receiving end of probes, one at a time.
///
/// Each probe uses two connections, as iperf3 does: the control connection carries
/// the header and the replies; the payload arrives on a data connection to a
/// listener opened *for that probe*. An accepted socket inherits its receive buffer
/// from its listener, so a listener opened before a `tcp_rmem` change would hide
/// the change; a fresh one per probe always reflects the current setting.
public struct ProbeServer: Sendable {
    public struct Configuration: Sendable {
        public var bind: String?
        public var port: UInt16
        public var maxBytes: UInt64
        /// A client that moves nothing for this long is dropped.
        public var idleTimeout: Duration
        /// The whole header must arrive within this: a client dripping one byte at a
        /// time cannot hold the server.
        public var headerTimeout: Duration
        /// The longest a timed probe may run (its header does not say how long).
        public var maxDuration: Duration
        public var token: [UInt8]?
        public var drain: DrainMethod
        public var once: Bool

        public init(bind: String? = nil, port: UInt16 = 9000, maxBytes: UInt64 = 64 << 30, idleTimeout: Duration = .seconds(10),
                    headerTimeout: Duration = .seconds(5), maxDuration: Duration = .seconds(600),
                    token: [UInt8]? = nil, drain: DrainMethod = .default, once: Bool = false) {
            self.bind = bind
            self.port = port
            self.maxBytes = maxBytes
            self.idleTimeout = idleTimeout
            self.headerTimeout = headerTimeout
            self.maxDuration = maxDuration
            self.token = token
            self.drain = drain
            self.once = once
        }

        /// How long a probe of `length` bytes may take: at the minimum rate, plus
        /// the time to notice a stall.
        func timeLimit(length: UInt64, timed: Bool) -> Duration {
            if timed { return maxDuration }
            let seconds = min(Double(length) * 8 / ProbeRequest.minimumRate, TimeSpan.maximum.seconds)
            return idleTimeout + .seconds(10) + .milliseconds(Int64(seconds * 1000))
        }
    }

    /// What happened to one client, for the log.
    public struct Event: Sendable, Equatable {
        public enum Outcome: Sendable, Equatable {
            case completed
            case refused(ProbeReply.Status, String)
            case failed(String)
        }
        public var peer: String
        public var method: ProbeMethod?
        public var outcome: Outcome
        public var bytes: UInt64
        public var seconds: Double
        public var cpu: CPUUsage?
        public var receiveBuffer: Int
    }

    public let configuration: Configuration
    private let listener: TCPListener

    public init(_ configuration: Configuration) throws {
        self.configuration = configuration
        listener = try TCPListener(host: configuration.bind, port: configuration.port)
    }

    /// Where the server listens.
    public var address: SocketAddress { listener.address }

    /// Serves until killed, or, with `once`, until one probe has been handled.
    public func run(log: @escaping @Sendable (Event) -> Void) throws {
        let busy = Mutex(false)
        let handled = Mutex(false)
        let workers = DispatchGroup()
        while !(configuration.once && handled.withLock { $0 }) {
            guard let client = try listener.accept(deadline: .after(.milliseconds(200))) else { continue }
            let claimed = busy.withLock { isBusy -> Bool in
                if isBusy { return false }
                isBusy = true
                return true
            }
            guard claimed else {
                // Answered on this thread: the running probe is not disturbed.
                refuse(client, .busy, "busy: another probe is running; try again when it finishes")
                log(Event(peer: client.endpoint.description, method: nil, outcome: .refused(.busy, "busy"), bytes: 0, seconds: 0, cpu: nil, receiveBuffer: 0))
                continue
            }
            workers.enter()
            let configuration = self.configuration
            Thread.detachNewThread {
                // Free the server before the final reply goes out: a client that starts
                // its next run the moment it has our answer must not be told "busy".
                let event = ProbeSession(configuration: configuration, control: client).run { completed in
                    if completed { handled.withLock { $0 = true } }
                    busy.withLock { $0 = false }
                }
                log(event)
                workers.leave()
            }
            if configuration.once { workers.wait() }
        }
        workers.wait()
    }

    private func refuse(_ client: TCPConnection, _ status: ProbeReply.Status, _ message: String) {
        try? client.sendAll(ProbeReply(kind: .refused, status: status, message: message).encoded(), deadline: .after(.seconds(1)))
    }
}

/// One probe on the server: header, fresh data listener, drain, result.
struct ProbeSession {
    let configuration: ProbeServer.Configuration
    let control: TCPConnection

    /// - Parameter finishing: called once, just before the last reply is sent, with
    ///   whether the probe completed.
    func run(finishing: (Bool) -> Void) -> ProbeServer.Event {
        var finished = false
        func finish(_ completed: Bool) {
            if !finished { finishing(completed) }
            finished = true
        }
        defer { finish(false) }
        var event = ProbeServer.Event(peer: control.endpoint.description, method: nil, outcome: .completed,
                                      bytes: 0, seconds: 0, cpu: nil, receiveBuffer: 0)
        let replyDeadline = { Deadline.after(configuration.idleTimeout) }

        // 1. The header, validated field by field, all of it within the header timeout.
        let header: ProbeHeader
        do {
            header = try readHeader(deadline: .after(configuration.headerTimeout))
        } catch let error as ProbeWireError {
            return refuse(&event, .badRequest, "bad probe header: \(error)")
        } catch {
            event.outcome = .failed("no complete header within \(TimeSpan.format(configuration.headerTimeout)): \(error)")
            return event
        }
        event.method = header.method
        if let token = configuration.token, !constantTimeEqual(token, header.token) {
            return refuse(&event, .unauthorized, "the token was not accepted")
        }
        let timed = header.flags.contains(.timed)
        if !timed && header.length > configuration.maxBytes {
            return refuse(&event, .tooLarge, "a payload of \(ByteCount(Int(clamping: header.length))) is more than this server accepts (its limit is \(ByteCount(Int(clamping: configuration.maxBytes))))")
        }

        // 2. A data listener opened now, so its sockets see the current tcp_rmem.
        let dataListener: TCPListener
        do {
            dataListener = try TCPListener(host: control.localAddress?.host, port: 0, backlog: 1)
        } catch {
            return refuse(&event, .failed, "server could not open a data port: \(error)")
        }
        var ready = ProbeReply(kind: .ready, status: .ok)
        ready.dataPort = dataListener.port
        do { try control.sendAll(ready.encoded(), deadline: replyDeadline()) } catch {
            event.outcome = .failed("client went away before the transfer: \(error)")
            return event
        }
        let data: TCPConnection
        do {
            guard let accepted = try acceptFromSamePeer(dataListener) else {
                event.outcome = .failed("the client did not open the data connection within \(TimeSpan.format(configuration.idleTimeout))")
                return event
            }
            data = accepted
        } catch {
            event.outcome = .failed("accepting the data connection failed: \(error)")
            return event
        }
        event.receiveBuffer = data.receiveBufferBytes

        // 3. Drain, timing from the first byte to the last.
        let limit = timed ? min(header.length, configuration.maxBytes) : header.length
        let outcome = drain(data, limit: limit, exact: !timed,
                            deadline: .after(configuration.timeLimit(length: limit, timed: timed)))
        event.bytes = outcome.bytes
        event.seconds = outcome.seconds
        event.cpu = outcome.cpu
        if let failure = outcome.failure {
            event.outcome = .failed(failure)
            var reply = ProbeReply(kind: .result, status: .failed, message: failure)
            reply.bytes = outcome.bytes
            finish(false)
            try? control.sendAll(reply.encoded(), deadline: replyDeadline())
            return event
        }

        // 4. The result.
        var result = ProbeReply(kind: .result, status: .ok)
        result.bytes = outcome.bytes
        result.receiveNanoseconds = UInt64(outcome.seconds * 1e9)
        if let cpu = outcome.cpu {
            result.cpuUserNanoseconds = UInt64(cpu.userSeconds * 1e9)
            result.cpuSystemNanoseconds = UInt64(cpu.systemSeconds * 1e9)
            result.hostBusyNanoseconds = UInt64(cpu.hostBusySeconds * 1e9)
            result.hostSoftirqNanoseconds = UInt64(cpu.hostSoftirqSeconds * 1e9)
            result.hostTotalNanoseconds = UInt64(cpu.hostTotalSeconds * 1e9)
        }
        result.receiveBuffer = UInt32(clamping: event.receiveBuffer)
        finish(true)
        do { try control.sendAll(result.encoded(), deadline: replyDeadline()) } catch {
            event.outcome = .failed("could not send the result: \(error)")
        }
        return event
    }

    private func refuse(_ event: inout ProbeServer.Event, _ status: ProbeReply.Status, _ message: String) -> ProbeServer.Event {
        // The refusal is the last reply: `run`'s deferred finish happens after it,
        // which is fine — a refused client does not start a transfer right away.
        try? control.sendAll(ProbeReply(kind: .refused, status: status, message: message).encoded(), deadline: .after(.seconds(1)))
        event.outcome = .refused(status, message)
        return event
    }

    private func readHeader(deadline: Deadline) throws -> ProbeHeader {
        var bytes: [UInt8] = []
        while true {
            if let (header, _) = try ProbeHeader.decode(bytes) { return header }
            let more = try control.receiveSome(limit: ProbeWire.headerFixedSize + ProbeWire.maxTokenLength - bytes.count, deadline: deadline)
            if more.isEmpty { throw ConnectionError(endpoint: control.endpoint, operation: "reading the header", errno: .connectionReset) }
            bytes += more
        }
    }

    /// Only the client that sent the header may connect; anything else is closed.
    private func acceptFromSamePeer(_ listener: TCPListener) throws -> TCPConnection? {
        let deadline = Deadline.after(configuration.idleTimeout)
        while let connection = try listener.accept(deadline: deadline) {
            if connection.endpoint.host == control.endpoint.host { return connection }
        }
        return nil
    }

    struct DrainOutcome {
        var bytes: UInt64
        var seconds: Double
        var cpu: CPUUsage?
        var failure: String?
    }

    private func drain(_ data: TCPConnection, limit: UInt64, exact: Bool, deadline: Deadline) -> DrainOutcome {
        let wait = TransferWait(deadline: deadline, stallTimeout: configuration.idleTimeout)
        let drainer: Drainer
        do {
            drainer = try Drainer(method: configuration.drain, socket: data.fd, wait: wait)
        } catch {
            return DrainOutcome(bytes: 0, seconds: 0, cpu: nil, failure: "cannot set up draining: \(error)")
        }
        // Wait for the first byte before starting the clock and the CPU counters.
        guard (try? deadline.capped(after: configuration.idleTimeout).wait(for: Int16(POLLIN), on: data.fd)) == true else {
            return DrainOutcome(bytes: 0, seconds: 0, cpu: nil, failure: "the client sent no data for \(TimeSpan.format(configuration.idleTimeout))")
        }
        let clock = ContinuousClock()
        let startCPU = CPUSample.now()
        let start = clock.now
        var received: UInt64 = 0
        var failure: String?
        while !exact || received < limit {
            let n: Int
            do {
                // One byte beyond a timed limit shows the client sent too much.
                n = try drainer.drain(limit: Int(clamping: limit - min(received, limit) + (exact ? 0 : 1)))
            } catch let timeout as TransferTimeout {
                failure = timeout.kind == .stalled
                    ? "the client stalled: no data for \(TimeSpan.format(configuration.idleTimeout)) after \(ByteCount(Int(clamping: received)))"
                    : "the client was too slow: \(ByteCount(Int(clamping: received))) in the \(TimeSpan.format(deadline.instant.map { $0 - start } ?? .zero)) a probe of this size may take"
                break
            } catch {
                failure = "receiving failed after \(ByteCount(Int(clamping: received))): \(error)"
                break
            }
            if n == 0 {
                if exact { failure = "the client closed early after \(ByteCount(Int(clamping: received))) of \(ByteCount(Int(clamping: limit)))" }
                break
            }
            received += UInt64(n)
            if !exact && received > limit {
                failure = "the client sent more than this server accepts (its limit is \(ByteCount(Int(clamping: limit))))"
                break
            }
        }
        let seconds = (clock.now - start).seconds
        return DrainOutcome(bytes: received, seconds: seconds, cpu: CPUSample.now().since(startCPU), failure: failure)
    }
}
