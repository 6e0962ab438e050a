import Glibc
import SystemPackage

/// What to send, where, and how.
public struct ProbeRequest: Sendable {
    public var endpoint: Endpoint
    public var payload: PayloadFile
    /// The read/write buffer of the readwrite method.
    public var bufferSize: Int
    /// With a duration, the payload is sent again and again until it is up.
    public var duration: Duration?
    /// With an interval, acknowledged bytes are sampled at each boundary.
    public var interval: Duration?
    /// Per-socket congestion control (TCP_CONGESTION).
    public var congestion: String?
    public var token: [UInt8]
    public var connectTimeout: Duration
    /// How long to wait for each of the server's answers.
    public var replyTimeout: Duration
    /// A transfer in which nothing moves for this long has stalled: the peer
    /// stopped reading.
    public var stallTimeout: Duration

    public init(endpoint: Endpoint, payload: PayloadFile, bufferSize: Int = 128 << 10, duration: Duration? = nil,
                interval: Duration? = nil, congestion: String? = nil, token: [UInt8] = [],
                connectTimeout: Duration = .seconds(5), replyTimeout: Duration = .seconds(10),
                stallTimeout: Duration = .seconds(10)) {
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
    }

    /// Slower than this, a transfer is not worth waiting for: it bounds a sized
    /// run's time (230 MiB at 1 Mbit/s is 32 minutes).
    public static let minimumRate = 1e6

    /// The most a run of `bytes` (or a timed run) may take before it is abandoned,
    /// however steadily a trickling peer keeps it moving.
    public func timeLimit(bytes: Int, timed: Bool) -> Duration {
        if timed, let duration { return duration + stallTimeout + replyTimeout }
        let seconds = min(Double(bytes) * 8 / Self.minimumRate, TimeSpan.maximum.seconds)
        return .seconds(60) + .milliseconds(Int64(seconds * 1000))
    }
}

/// Progress of the run in flight, for a terminal line.
public struct ProbeProgress: Sendable {
    public var method: ProbeMethod
    public var sentBytes: UInt64
    public var totalBytes: UInt64?
    public var elapsed: Duration
}

/// One run as the transport saw it.
public struct ProbeRun: Sendable, Equatable {
    public var result: RunResult
    /// The local address the connection used: which interface it left by.
    public var localAddress: String?
    /// The peer's address the connection reached.
    public var remoteAddress: SocketAddress?

    public init(result: RunResult, localAddress: String?, remoteAddress: SocketAddress? = nil) {
        self.result = result
        self.localAddress = localAddress
        self.remoteAddress = remoteAddress
    }
}

/// Whatever carries a probe to its peer: `ProbeClient` on a real network, a fake
/// in the workflows' unit tests.
public protocol ProbeTransport {
    var peer: Endpoint { get }
    /// One transfer. `limit` sends only that many bytes (a warm-up or a peer check).
    /// - Throws: `Interrupted` when a signal ends it; other errors say what failed.
    func run(_ method: ProbeMethod, limit: Int?, progress: ((ProbeProgress) -> Void)?) throws -> ProbeRun
}

/// The sending end of one probe.
public struct ProbeClient: ProbeTransport, Sendable {
    public let request: ProbeRequest
    /// A signal ends the run in flight at once (through `Interrupted`).
    public let interruption: Interruption?

    public init(_ request: ProbeRequest, interruption: Interruption? = nil) {
        self.request = request
        self.interruption = interruption
    }

    public var peer: Endpoint { request.endpoint }

    /// Sizes of the chunks handed to the sender between clock checks: small enough
    /// for interval sampling, large enough that the checks cost nothing.
    static let chunkSize = 4 << 20

    public func run(_ method: ProbeMethod, limit: Int? = nil, progress: ((ProbeProgress) -> Void)? = nil) throws -> ProbeRun {
        let file: FileDescriptor
        do {
            file = try FileDescriptor.open(FilePath(request.payload.path), .readOnly, options: [.closeOnExec])
        } catch {
            throw PayloadError.unusable(path: request.payload.path, reason: "\(error)")
        }
        defer { try? file.close() }
        let timed = request.duration != nil && limit == nil
        let total = UInt64(limit ?? request.payload.size)
        func answerDeadline() -> Deadline { .after(request.replyTimeout, interruption: interruption) }

        // Control connection: header, then "ready" with a fresh data port.
        let control = try TCPConnection.connect(to: request.endpoint, deadline: .after(request.connectTimeout, interruption: interruption))
        let header = ProbeHeader(method: method, flags: timed ? .timed : [], length: timed ? UInt64.max : total, token: request.token)
        try control.sendAll(header.encoded(), deadline: answerDeadline())
        let ready = try readReply(control, deadline: answerDeadline())
        guard ready.kind == .ready else { throw ProbeRefusedError(endpoint: request.endpoint, reply: ready) }

        let dataHost = control.remoteAddress?.host ?? request.endpoint.host
        let data = try TCPConnection.connect(to: Endpoint(host: dataHost, port: ready.dataPort),
                                             deadline: .after(request.connectTimeout, interruption: interruption))
        if let congestion = request.congestion { try data.setCongestionControl(congestion) }
        let runDeadline = Deadline.after(request.timeLimit(bytes: Int(clamping: total), timed: timed), interruption: interruption)
        let wait = TransferWait(deadline: runDeadline, stallTimeout: request.stallTimeout)
        let sender = try FileSender(method: method, file: file.rawValue, socket: data.fd, bufferSize: request.bufferSize, wait: wait)

        // The measured window starts at the first payload byte.
        let clock = ContinuousClock()
        let startInfo = try data.tcpInfo()
        let ackedAtStart = startInfo.bytesAcked ?? 0
        let startCPU = CPUSample.now()
        let start = clock.now
        var sent: UInt64 = 0
        var intervals: [Interval] = []
        var nextBoundary = request.interval.map { start + $0 }
        var lastBoundary = start
        var ackedAtLastBoundary = ackedAtStart
        var lastProgress = start
        let fileSize = request.payload.size
        var offset = 0

        sendLoop: while true {
            if timed {
                if let duration = request.duration, clock.now - start >= duration { break sendLoop }
            } else if sent >= total {
                break sendLoop
            }
            let remainingInFile = fileSize - offset
            let count = min(Self.chunkSize, remainingInFile, timed ? Int.max : Int(total - sent))
            try sender.send(offset: offset, count: count)
            sent += UInt64(count)
            offset += count
            if offset >= fileSize { offset = 0 }

            let now = clock.now
            if let boundary = nextBoundary, now >= boundary, let interval = request.interval {
                let acked = try data.tcpInfo().bytesAcked ?? 0
                intervals.append(Interval(start: (lastBoundary - start).seconds, end: (now - start).seconds,
                                          bytes: acked &- ackedAtLastBoundary))
                ackedAtLastBoundary = acked
                lastBoundary = now
                nextBoundary = boundary + interval * Int((now - boundary).seconds / interval.seconds + 1)
            }
            if let progress, now - lastProgress >= .milliseconds(250) {
                progress(ProbeProgress(method: method, sentBytes: sent, totalBytes: timed ? nil : total, elapsed: now - start))
                lastProgress = now
            }
        }

        // End of payload: FIN on the data connection, then the receiver's count,
        // which comes once the receiver has drained what is still in flight.
        data.shutdownWrite()
        let reply = try readReply(control, deadline: runDeadline.capped(after: request.replyTimeout + request.stallTimeout))
        let end = clock.now
        let endCPU = CPUSample.now()
        let info = try data.tcpInfo()
        guard reply.kind == .result, reply.status == .ok else {
            throw ProbeFailedError(endpoint: request.endpoint,
                                   message: reply.message.isEmpty ? "the transfer failed" : "the server says: " + PeerText.sanitized(reply.message))
        }
        guard reply.bytes == sent else {
            throw ProbeFailedError(endpoint: request.endpoint, message: "the receiver counted \(reply.bytes) bytes, but \(sent) were sent")
        }
        let seconds = (end - start).seconds
        if request.interval != nil {
            let acked = info.bytesAcked ?? ackedAtLastBoundary
            intervals.append(Interval(start: (lastBoundary - start).seconds, end: seconds, bytes: acked &- ackedAtLastBoundary))
        }
        let receiverCPU = try ReceiverFigures.cpu(of: reply, elapsed: seconds, endpoint: request.endpoint)
        let result = RunResult(
            method: method, bytes: reply.bytes, seconds: seconds, sender: endCPU.since(startCPU), receiver: receiverCPU,
            tcpInfo: info, intervals: intervals, congestion: data.congestionControl,
            sendBufferBytes: data.sendBufferBytes, receiveBufferBytes: Int(reply.receiveBuffer))
        return ProbeRun(result: result, localAddress: control.localAddress?.host, remoteAddress: control.remoteAddress)
    }

    private func readReply(_ control: TCPConnection, deadline: Deadline) throws -> ProbeReply {
        var bytes: [UInt8] = []
        while true {
            do {
                if let (reply, _) = try ProbeReply.decode(bytes) { return reply }
            } catch {
                throw ProbeFailedError(endpoint: request.endpoint, message: "\(request.endpoint) is not a nettune probe server: \(error)")
            }
            let more: [UInt8]
            do {
                more = try control.receiveSome(limit: 4096, deadline: deadline)
            } catch let error as ConnectionError where error.errno == .timedOut {
                throw ProbeFailedError(endpoint: request.endpoint, message: "no answer from \(request.endpoint) within the time allowed")
            }
            if more.isEmpty {
                throw ProbeFailedError(endpoint: request.endpoint, message: "\(request.endpoint) closed the connection early")
            }
            bytes += more
        }
    }
}

/// The receiver's figures are another machine's claims: each is checked against
/// what is physically possible before nettune prints it or bases a diagnosis on it.
enum ReceiverFigures {
    /// More CPUs than any machine that would run `nettune serve`.
    static let maximumCPUs = 4096.0

    static func cpu(of reply: ProbeReply, elapsed: Double, endpoint: Endpoint) throws -> CPUUsage {
        let usage = CPUUsage(
            userSeconds: Double(reply.cpuUserNanoseconds) / 1e9, systemSeconds: Double(reply.cpuSystemNanoseconds) / 1e9,
            hostBusySeconds: Double(reply.hostBusyNanoseconds) / 1e9, hostSoftirqSeconds: Double(reply.hostSoftirqNanoseconds) / 1e9,
            hostTotalSeconds: Double(reply.hostTotalNanoseconds) / 1e9)
        // The receiver's window lies inside ours; a clock tick of slack.
        let window = elapsed + 0.05
        var impossible: [String] = []
        if usage.hostTotalSeconds > window * maximumCPUs { impossible.append("host CPU time \(usage.hostTotalSeconds) s in \(window) s") }
        if usage.hostBusySeconds > usage.hostTotalSeconds + 0.05 { impossible.append("busy time above the host's total") }
        if usage.hostSoftirqSeconds > usage.hostBusySeconds + 0.05 { impossible.append("softirq time above busy time") }
        // One process cannot use more than every CPU for the whole window.
        // (Host time counts in ticks: a tick per CPU of slack.)
        let processLimit = usage.hostTotalSeconds > 0 ? usage.hostTotalSeconds * 1.02 + 0.05 : window * maximumCPUs
        if usage.processSeconds > min(processLimit, window * maximumCPUs) {
            impossible.append("process CPU \(usage.processSeconds) s in a \(String(format: "%.3f", elapsed)) s transfer")
        }
        guard impossible.isEmpty else {
            throw ProbeFailedError(endpoint: endpoint, message: "\(endpoint) reported impossible figures (\(impossible.joined(separator: "; "))): not trusted")
        }
        return usage
    }
}

/// The server said no: busy, a bad token, a payload too large, a bad header.
public struct ProbeRefusedError: Error, CustomStringConvertible, Equatable {
    public var endpoint: Endpoint
    public var reply: ProbeReply
    public var description: String { "\(endpoint) refused the probe: \(PeerText.sanitized(reply.message))" }
}

/// The transfer did not complete.
public struct ProbeFailedError: Error, CustomStringConvertible, Equatable {
    public var endpoint: Endpoint
    public var message: String
    public var description: String { message }
}
