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
    /// How long to wait for the receiver's answer after the last byte was sent.
    public var replyTimeout: Duration

    public init(endpoint: Endpoint, payload: PayloadFile, bufferSize: Int = 128 << 10, duration: Duration? = nil,
                interval: Duration? = nil, congestion: String? = nil, token: [UInt8] = [],
                connectTimeout: Duration = .seconds(5), replyTimeout: Duration = .seconds(60)) {
        self.endpoint = endpoint
        self.payload = payload
        self.bufferSize = bufferSize
        self.duration = duration
        self.interval = interval
        self.congestion = congestion
        self.token = token
        self.connectTimeout = connectTimeout
        self.replyTimeout = replyTimeout
    }
}

/// Progress of the run in flight, for a terminal line.
public struct ProbeProgress: Sendable {
    public var method: ProbeMethod
    public var sentBytes: UInt64
    public var totalBytes: UInt64?
    public var elapsed: Duration
}

/// The sending end of one probe.
public struct ProbeClient: Sendable {
    public let request: ProbeRequest

    public init(_ request: ProbeRequest) {
        self.request = request
    }

    /// Sizes of the chunks handed to the sender between clock checks: small enough
    /// for interval sampling, large enough that the checks cost nothing.
    static let chunkSize = 4 << 20

    /// One transfer. `limit` sends only that many bytes (the warm-up).
    public func run(_ method: ProbeMethod, limit: Int? = nil, progress: ((ProbeProgress) -> Void)? = nil) throws -> (result: RunResult, localAddress: String?) {
        let file = try FileDescriptor.open(FilePath(request.payload.path), .readOnly)
        defer { try? file.close() }
        let timed = request.duration != nil && limit == nil
        let total = UInt64(limit ?? request.payload.size)

        // Control connection: header, then "ready" with a fresh data port.
        let control = try TCPConnection.connect(to: request.endpoint, timeout: request.connectTimeout)
        control.setReceiveTimeout(request.connectTimeout)
        let header = ProbeHeader(method: method, flags: timed ? .timed : [], length: timed ? UInt64.max : total, token: request.token)
        try control.sendAll(header.encoded())
        let ready = try readReply(control)
        guard ready.kind == .ready else { throw ProbeRefusedError(endpoint: request.endpoint, reply: ready) }

        let dataHost = SocketAddress.remote(of: control.fd)?.host ?? request.endpoint.host
        let data = try TCPConnection.connect(to: Endpoint(host: dataHost, port: ready.dataPort), timeout: request.connectTimeout)
        if let congestion = request.congestion { try data.setCongestionControl(congestion) }
        let sender = try FileSender(method: method, file: file.rawValue, socket: data.fd, bufferSize: request.bufferSize)

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

        // End of payload: FIN on the data connection, then the receiver's count.
        data.shutdownWrite()
        control.setReceiveTimeout(request.replyTimeout)
        let reply = try readReply(control)
        let end = clock.now
        let endCPU = CPUSample.now()
        let info = try data.tcpInfo()
        guard reply.kind == .result, reply.status == .ok else {
            throw ProbeFailedError(endpoint: request.endpoint, message: reply.message.isEmpty ? "the transfer failed" : reply.message)
        }
        guard reply.bytes == sent else {
            throw ProbeFailedError(endpoint: request.endpoint, message: "the receiver counted \(reply.bytes) bytes, but \(sent) were sent")
        }
        let seconds = (end - start).seconds
        if request.interval != nil {
            let acked = info.bytesAcked ?? ackedAtLastBoundary
            intervals.append(Interval(start: (lastBoundary - start).seconds, end: seconds, bytes: acked &- ackedAtLastBoundary))
        }
        let receiverCPU = CPUUsage(
            userSeconds: Double(reply.cpuUserNanoseconds) / 1e9, systemSeconds: Double(reply.cpuSystemNanoseconds) / 1e9,
            hostBusySeconds: Double(reply.hostBusyNanoseconds) / 1e9, hostSoftirqSeconds: Double(reply.hostSoftirqNanoseconds) / 1e9,
            hostTotalSeconds: Double(reply.hostTotalNanoseconds) / 1e9)
        let result = RunResult(
            method: method, bytes: reply.bytes, seconds: seconds, sender: endCPU.since(startCPU), receiver: receiverCPU,
            tcpInfo: info, intervals: intervals, congestion: data.congestionControl,
            sendBufferBytes: data.sendBufferBytes, receiveBufferBytes: Int(reply.receiveBuffer))
        return (result, control.localAddress?.host)
    }

    private func readReply(_ control: TCPConnection) throws -> ProbeReply {
        var bytes: [UInt8] = []
        while true {
            do {
                if let (reply, _) = try ProbeReply.decode(bytes) { return reply }
            } catch {
                throw ProbeFailedError(endpoint: request.endpoint, message: "\(request.endpoint) is not a nettune probe server: \(error)")
            }
            let more: [UInt8]
            do {
                more = try control.receiveSome(limit: 4096)
            } catch {
                // (A `catch where` on a typed error crashes this compiler; test inside.)
                if error.errno == .timedOut {
                    throw ProbeFailedError(endpoint: request.endpoint, message: "no answer from \(request.endpoint) within the time allowed")
                }
                throw error
            }
            if more.isEmpty {
                throw ProbeFailedError(endpoint: request.endpoint, message: "\(request.endpoint) closed the connection early")
            }
            bytes += more
        }
    }
}

/// The server said no: busy, a bad token, a payload too large, a bad header.
public struct ProbeRefusedError: Error, CustomStringConvertible, Equatable {
    public var endpoint: Endpoint
    public var reply: ProbeReply
    public var description: String { "\(endpoint) refused the probe: \(reply.message)" }
}

/// The transfer did not complete.
public struct ProbeFailedError: Error, CustomStringConvertible, Equatable {
    public var endpoint: Endpoint
    public var message: String
    public var description: String { message }
}
