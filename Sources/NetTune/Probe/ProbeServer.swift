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
        public var idleTimeout: Duration
        public var token: [UInt8]?
        public var drain: DrainMethod
        public var once: Bool

        public init(bind: String? = nil, port: UInt16 = 9000, maxBytes: UInt64 = 64 << 30, idleTimeout: Duration = .seconds(10),
                    token: [UInt8]? = nil, drain: DrainMethod = .default, once: Bool = false) {
            self.bind = bind
            self.port = port
            self.maxBytes = maxBytes
            self.idleTimeout = idleTimeout
            self.token = token
            self.drain = drain
            self.once = once
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
            guard let client = try listener.accept(timeout: .milliseconds(200)) else { continue }
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
        client.setSendTimeout(.seconds(1))
        try? client.sendAll(ProbeReply(kind: .refused, status: status, message: message).encoded())
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
        control.setReceiveTimeout(configuration.idleTimeout)
        control.setSendTimeout(configuration.idleTimeout)

        // 1. The header, validated field by field.
        let header: ProbeHeader
        do {
            header = try readHeader()
        } catch let error as ProbeWireError {
            return refuse(&event, .badRequest, "bad probe header: \(error)")
        } catch {
            event.outcome = .failed("no complete header: \(error)")
            return event
        }
        event.method = header.method
        if let token = configuration.token, !constantTimeEqual(token, header.token) {
            return refuse(&event, .unauthorized, "the token was not accepted (give the server's --token or NETTUNE_TOKEN)")
        }
        if !header.flags.contains(.timed) && header.length > configuration.maxBytes {
            return refuse(&event, .tooLarge, "a payload of \(ByteCount(Int(clamping: header.length))) is more than this server accepts (--max-bytes \(ByteCount(Int(clamping: configuration.maxBytes))))")
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
        do { try control.sendAll(ready.encoded()) } catch {
            event.outcome = .failed("client went away before the transfer: \(error)")
            return event
        }
        let data: TCPConnection
        do {
            guard let accepted = try acceptFromSamePeer(dataListener) else {
                event.outcome = .failed("the client did not open the data connection within \(Int(configuration.idleTimeout.seconds)) s")
                return event
            }
            data = accepted
        } catch {
            event.outcome = .failed("accepting the data connection failed: \(error)")
            return event
        }
        event.receiveBuffer = data.receiveBufferBytes
        data.setReceiveTimeout(configuration.idleTimeout)

        // 3. Drain, timing from the first byte to the last.
        let limit = header.flags.contains(.timed) ? min(header.length, configuration.maxBytes) : header.length
        let outcome = drain(data, limit: limit, exact: !header.flags.contains(.timed))
        event.bytes = outcome.bytes
        event.seconds = outcome.seconds
        event.cpu = outcome.cpu
        if let failure = outcome.failure {
            event.outcome = .failed(failure)
            var reply = ProbeReply(kind: .result, status: .failed, message: failure)
            reply.bytes = outcome.bytes
            finish(false)
            try? control.sendAll(reply.encoded())
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
        do { try control.sendAll(result.encoded()) } catch {
            event.outcome = .failed("could not send the result: \(error)")
        }
        return event
    }

    private func refuse(_ event: inout ProbeServer.Event, _ status: ProbeReply.Status, _ message: String) -> ProbeServer.Event {
        // The refusal is the last reply: `run`'s deferred finish happens after it,
        // which is fine — a refused client does not start a transfer right away.
        try? control.sendAll(ProbeReply(kind: .refused, status: status, message: message).encoded())
        event.outcome = .refused(status, message)
        return event
    }

    private func readHeader() throws -> ProbeHeader {
        var bytes: [UInt8] = []
        while true {
            if let (header, _) = try ProbeHeader.decode(bytes) { return header }
            let more = try control.receiveSome(limit: ProbeWire.headerFixedSize + ProbeWire.maxTokenLength - bytes.count)
            if more.isEmpty { throw ConnectionError(endpoint: control.endpoint, operation: "reading the header", errno: .connectionReset) }
            bytes += more
        }
    }

    /// Only the client that sent the header may connect; anything else is closed.
    private func acceptFromSamePeer(_ listener: TCPListener) throws -> TCPConnection? {
        let deadline = ContinuousClock.now + configuration.idleTimeout
        while ContinuousClock.now < deadline {
            guard let connection = try listener.accept(timeout: deadline - ContinuousClock.now) else { return nil }
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

    private func drain(_ data: TCPConnection, limit: UInt64, exact: Bool) -> DrainOutcome {
        let drainer: Drainer
        do {
            drainer = try Drainer(method: configuration.drain, socket: data.fd)
        } catch {
            return DrainOutcome(bytes: 0, seconds: 0, cpu: nil, failure: "cannot set up draining: \(error)")
        }
        // Wait for the first byte before starting the clock and the CPU counters.
        var pfd = pollfd(fd: data.fd, events: Int16(POLLIN), revents: 0)
        let ready = (try? Syscall.call { poll(&pfd, 1, Int32(configuration.idleTimeout.milliseconds)) }) ?? 0
        guard ready > 0 else {
            return DrainOutcome(bytes: 0, seconds: 0, cpu: nil, failure: "the client sent no data for \(Int(configuration.idleTimeout.seconds)) s")
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
            } catch {
                failure = error == .wouldBlock
                    ? "the client stalled: no data for \(Int(configuration.idleTimeout.seconds)) s after \(ByteCount(Int(received)))"
                    : "receiving failed after \(ByteCount(Int(received))): \(error)"
                break
            }
            if n == 0 {
                if exact { failure = "the client closed early after \(ByteCount(Int(received))) of \(ByteCount(Int(limit)))" }
                break
            }
            received += UInt64(n)
            if !exact && received > limit {
                failure = "the client sent more than this server accepts (--max-bytes \(ByteCount(Int(clamping: limit))))"
                break
            }
        }
        let seconds = (clock.now - start).seconds
        return DrainOutcome(bytes: received, seconds: seconds, cpu: CPUSample.now().since(startCPU), failure: failure)
    }
}
