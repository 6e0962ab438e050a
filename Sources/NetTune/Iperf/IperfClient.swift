import Dispatch
import Foundation
import Glibc
import SystemPackage

/// A probe against an unmodified `iperf3 -s`: iperf3's control protocol, with
/// nettune's own senders (sendfile from a real file, splice, read/write) and
/// receivers on the data connections, and nettune's CPU and TCP_INFO on this end.
/// The server's side comes from its results message: bytes, its process CPU,
/// retransmits; what iperf3 does not report (its host CPU, its tuning, its
/// TCP_INFO) stays nil.
public struct IperfClient: RequestTransport, Sendable {
    public let request: ProbeRequest
    public let interruption: Interruption?

    public init(_ request: ProbeRequest, interruption: Interruption? = nil) {
        self.request = request
        self.interruption = interruption
    }

    /// How long a refused or reset first connection is tried again: `iperf3 -s`
    /// (3.12) closes its listening socket at the end of a test and opens a new one,
    /// so the next test of an A/B comparison, started at once, could find nothing
    /// listening or be reset (2 of 14 six-pair comparisons in a lab).
    static let reopenWindow: Duration = .seconds(1)

    /// The control connection, its cookie sent and PARAM_EXCHANGE received: the
    /// server is an iperf3 server ready for this test.
    private func openControl() throws -> (TCPConnection, IperfControl, [UInt8]) {
        let name = request.endpoint.description
        let giveUp = ContinuousClock.now + Self.reopenWindow
        while true {
            do {
                let connection = try TCPConnection.connect(
                    to: request.endpoint, deadline: .after(request.connectTimeout, interruption: interruption), options: request.connect)
                let control = IperfControl(connection: connection, peer: name)
                let cookie = IperfWire.makeCookie()
                try control.send(cookie, deadline: .after(request.replyTimeout, interruption: interruption))
                let state: IperfState
                do {
                    state = try control.state(deadline: .after(request.replyTimeout, interruption: interruption), waiting: "PARAM_EXCHANGE")
                } catch let error as IperfPeerError {
                    guard case .protocolBroken(.unknownState(let byte)) = error.problem else { throw error }
                    throw IperfPeerError(peer: name, problem: .notIperf(reason: control.whatItSent(after: byte)))
                }
                switch state {
                case .parameterExchange: return (connection, control, cookie)
                case .accessDenied: throw IperfPeerError(peer: name, problem: .busy)
                case .serverError:
                    let (code, errno) = try control.serverError(deadline: .after(request.replyTimeout, interruption: interruption))
                    throw IperfPeerError(peer: name, problem: code == IperfErrorCode.accessDenied ? .busy : .serverError(code: code, errno: errno))
                // Anything but iperf3's first state right after the cookie: not an
                // iperf3 server at all (a real one answers at once).
                default: throw IperfPeerError(peer: name, problem: .notIperf(reason: "it sent something else"))
                }
            } catch let error as ConnectionError where [.connectionRefused, .connectionReset, .brokenPipe].contains(error.errno) {
                guard ContinuousClock.now < giveUp else { throw error }
            } catch let error as IperfPeerError {
                switch error.problem {
                case .protocolBroken: throw IperfPeerError(peer: name, problem: .notIperf(reason: "it sent something else"))
                case .silent: throw IperfPeerError(peer: name, problem: .notIperf(reason: "it stayed silent"))
                case .closed: throw IperfPeerError(peer: name, problem: .notIperf(reason: "it closed the connection"))
                default: throw error
                }
            }
            try Deadline.after(.milliseconds(50), interruption: interruption).sleep()
        }
    }

    /// SERVER_TERMINATE or SERVER_ERROR, when the server sent one by the time a
    /// stream failed (it says so before it closes the streams; on a real path the
    /// streams' end can overtake it, hence a short wait). Nil for anything else.
    private func serversWord(on control: IperfControl) -> IperfPeerError? {
        let name = request.endpoint.description
        guard
            control.hasUnread
                || (try? Deadline.after(.milliseconds(500), interruption: interruption).wait(for: Int16(POLLIN), on: control.connection.fd)) == true,
            let state = try? control.state(deadline: .after(.zero), waiting: "the test")
        else { return nil }
        switch state {
        case .serverTerminate:
            return IperfPeerError(peer: name, problem: .terminated)
        case .serverError:
            guard let (code, errno) = try? control.serverError(deadline: .after(.seconds(1))) else { return nil }
            return IperfPeerError(peer: name, problem: .serverError(code: code, errno: errno))
        default:
            return nil
        }
    }

    /// `waiting` hears nothing: an iperf3 server has no queue and says nothing
    /// before TEST_START.
    public func run(
        _ method: ProbeMethod, limit: Int? = nil, direction: ProbeDirection? = nil,
        progress: ((ProbeProgress) -> Void)? = nil, waiting: ((ProbeProgress) -> Void)? = nil
    ) throws -> ProbeRun {
        let direction = direction ?? request.direction
        let timed = request.duration != nil && limit == nil
        let perDirection = UInt64(limit ?? request.payload.size)
        let streams = request.streams
        let ways = direction.ways
        func deadline(_ duration: Duration) -> Deadline { .after(duration, interruption: interruption) }
        let name = request.endpoint.description

        // 1. Control: the cookie, then the server drives with state bytes.
        let (connection, control, cookie) = try openControl()
        func expect(_ wanted: IperfState, waiting what: String, within: Duration? = nil) throws {
            let state = try control.state(deadline: deadline(within ?? request.replyTimeout), waiting: what)
            switch state {
            case wanted: return
            case .accessDenied: throw IperfPeerError(peer: name, problem: .busy)
            case .serverError:
                let (code, errno) = try control.serverError(deadline: deadline(request.replyTimeout))
                throw IperfPeerError(peer: name, problem: code == IperfErrorCode.accessDenied ? .busy : .serverError(code: code, errno: errno))
            case .serverTerminate: throw IperfPeerError(peer: name, problem: .terminated)
            default: throw IperfPeerError(peer: name, problem: .protocolBroken(.unexpectedState(state, expected: wanted.description)))
            }
        }
        let seconds = timed ? Int((request.duration ?? .zero).seconds.rounded(.up)) : 0
        let parameters = IperfParameters(
            seconds: seconds, bytes: timed ? nil : perDirection, streams: streams,
            reverse: direction == .receive, bidirectional: direction == .both, blockSize: request.bufferSize,
            congestion: request.congestion, clientVersion: "nettune \(NetTuneVersion.current)")
        try control.send(try parameters.encoded(), deadline: deadline(request.replyTimeout))
        try expect(.createStreams, waiting: "CREATE_STREAMS")

        // 2. Data connections, each introduced by the cookie: this machine's
        //    sending streams first, then its receiving ones (iperf3's order).
        var connections: [TCPConnection] = []
        var wayOfStream: [ProbeDirection] = []
        for way in ways {
            for _ in 0..<streams {
                // As with nettune's server: the sending sockets only (the server is told
                // in the parameters), before their handshake.
                let congestion = way == .send ? request.congestion : nil
                let data =
                    try connection.remoteAddress.map {
                        try TCPConnection.connect(
                            $0, endpoint: request.endpoint, deadline: deadline(request.connectTimeout), options: request.connect,
                            congestion: congestion)
                    }
                    ?? TCPConnection.connect(
                        to: request.endpoint, deadline: deadline(request.connectTimeout), options: request.connect, congestion: congestion)
                try data.sendAll(cookie, deadline: deadline(request.replyTimeout))
                connections.append(data)
                wayOfStream.append(way)
            }
        }
        try expect(.testStart, waiting: "TEST_START")
        try expect(.testRunning, waiting: "TEST_RUNNING")

        // 3. The transfer: a thread per stream; this one watches the clock, the
        //    bytes, the control connection and signals, and ends the test.
        let file = ways.contains(.send) ? try openPayload() : nil
        defer { try? file?.close() }
        progress?(
            ProbeProgress(
                method: method, bytes: 0, totalBytes: nil, elapsed: .zero,
                connected: ConnectedAddresses(local: connection.localAddress?.host, remote: connection.remoteAddress?.description)))
        let runDeadline = deadline(request.timeLimit(bytes: Int(clamping: perDirection), timed: timed))
        let clock = ContinuousClock()
        let start = clock.now
        let startCPU = CPUSample.now()
        let set = StreamSet(count: connections.count)
        let workers = DispatchGroup()
        let works = connections.enumerated().map { index, connection in
            let share = ProbeClient.share(of: perDirection, stream: index % streams, streams: streams)
            return (
                way: wayOfStream[index],
                work: StreamWork(
                    index: index, connection: connection, file: file?.rawValue, method: method, bytes: share,
                    timed: timed, duration: request.duration, start: start, deadline: runDeadline,
                    stallTimeout: request.stallTimeout, bufferSize: request.bufferSize, drain: request.drain,
                    closesWhenDone: false)
            )
        }
        StreamWork.launch(works, streams: set, group: workers)
        // Intervals as nettune's own client takes them: acknowledged or received bytes.
        let shape = ProbeRequestMessage(
            direction: direction, method: method, streams: streams, length: nil, duration: nil,
            queueWait: .zero, token: [], software: "")
        var sampler = IntervalSampler(
            interval: request.interval, start: start, runEnd: timed ? request.duration.map { start + $0 } : nil, connections: connections,
            message: shape, streams: set)
        let sendIndices = connections.indices.filter { wayOfStream[$0] == .send }
        let receiveIndices = connections.indices.filter { wayOfStream[$0] == .receive }
        var ended: ContinuousClock.Instant?
        var lastProgress = start
        func abandon() {
            for connection in connections { connection.shutdownBoth() }
        }
        var workersDone = false
        // Woken at once when the last stream ends, and at a timed run's end (this
        // machine then tells the server; its receiving streams do not end by
        // themselves); meanwhile for a signal, the server's word and the intervals —
        // every 50 ms while someone is shown progress or intervals, else every 250 ms
        // (each wake-up runs beside the measured sender: at 50 ms, 5–10 % of a
        // 1 Gbit/s sender's CPU per GiB).
        let tick: Duration = progress == nil && request.interval == nil ? .milliseconds(250) : .milliseconds(50)
        let timedEnd = timed ? request.duration.map { start + $0 } : nil
        // Until every stream has ended and the server has been told the test is over.
        while !workersDone || ended == nil {
            var wait = tick
            if ended == nil, let timedEnd, timedEnd - clock.now > .zero { wait = min(wait, timedEnd - clock.now) }
            workersDone = workersDone || workers.wait(timeout: .now() + .milliseconds(Int(clamping: wait.millisecondsRoundedUp))) == .success
            let now = clock.now
            if interruption?.signal == nil, set.failed, let word = serversWord(on: control) {
                // The server ended the test and closed its streams: its word, not the
                // broken pipe a stream saw, says why.
                abandon()
                workers.wait()
                throw word
            }
            if interruption?.signal != nil || set.failed {
                // iperf3's own client says CLIENT_TERMINATE when it is stopped.
                try? control.send(.clientTerminate, deadline: .after(.seconds(1)))
                abandon()
                workers.wait()
                break
            }
            // The server may end the test itself (SERVER_TERMINATE, an error).
            if ended == nil, control.hasUnread {
                abandon()
                _ = workers.wait(timeout: .now() + .seconds(2))
                let state = try control.state(deadline: deadline(request.replyTimeout), waiting: "the test")
                if state == .serverError {
                    let (code, errno) = try control.serverError(deadline: deadline(request.replyTimeout))
                    throw IperfPeerError(peer: name, problem: .serverError(code: code, errno: errno))
                }
                throw IperfPeerError(
                    peer: name,
                    problem: state == .serverTerminate
                        ? .terminated
                        : .protocolBroken(.unexpectedState(state, expected: "nothing during the test")))
            }
            if ended == nil {
                let sendersDone = sendIndices.allSatisfy { set.isFinished($0) }
                let receivedAll =
                    timed
                    ? now - start >= (request.duration ?? .zero)
                    : receiveIndices.reduce(UInt64(0)) { $0 + set.moved($1) } >= perDirection
                if sendersDone && (receiveIndices.isEmpty || receivedAll) {
                    // Every sent byte acknowledged first, so the server counts them all.
                    waitUntilAcknowledged(sendIndices.map { connections[$0] }, deadline: deadline(request.stallTimeout))
                    try control.send(.testEnd, deadline: deadline(request.replyTimeout))
                    ended = clock.now
                }
            }
            let closed = ended == nil ? sampler.sample(at: now) : []
            if let progress, now - lastProgress >= .milliseconds(250) || !closed.isEmpty {
                // Acknowledged bytes for what this machine sends, not what the kernel took.
                progress(
                    ProbeProgress(
                        method: method, bytes: sampler.total(), totalBytes: timed ? nil : perDirection * UInt64(ways.count),
                        elapsed: now - start, intervals: closed))
                lastProgress = now
            }
        }
        try interruption?.check()
        let outcomes = try set.outcomes()
        let end = ended ?? clock.now
        let last = sampler.sample(at: end, final: true)
        if !last.isEmpty {
            progress?(ProbeProgress(method: method, bytes: sampler.total(), totalBytes: nil, elapsed: end - start, intervals: last))
        }
        let localCPU = CPUSample.now().since(startCPU)
        let elapsed = (end - start).seconds

        // 4. Results, both ways, then the end of the test.
        try expect(.exchangeResults, waiting: "EXCHANGE_RESULTS")
        let percent = { (seconds: Double) in elapsed > 0 ? seconds / elapsed * 100 : 0 }
        var infos: [Int: TCPInfo] = [:]
        for index in sendIndices { infos[index] = try? connections[index].tcpInfo() }
        let ours = IperfResults(
            cpuTotal: percent(localCPU.processSeconds), cpuUser: percent(localCPU.userSeconds), cpuSystem: percent(localCPU.systemSeconds),
            senderHasRetransmits: sendIndices.isEmpty ? -1 : 1, congestion: connections.first?.congestionControl,
            streams: connections.indices.map { index in
                IperfResults.Stream(
                    id: IperfResults.streamID(index), bytes: outcomes[index].bytes,
                    retransmits: wayOfStream[index] == .send ? Int(infos[index]?.totalRetransmits ?? 0) : -1,
                    endTime: outcomes[index].seconds)
            })
        try control.send(try ours.encoded(), deadline: deadline(request.replyTimeout))
        let body = try control.frame(
            limit: IperfWire.maxResultsSize(streams: connections.count), deadline: deadline(request.replyTimeout),
            waiting: "the server's results")
        let theirs: IperfResults
        do {
            theirs = try IperfResults(json: body, maximumCPUs: PeerFigures.maximumCPUs)
        } catch {
            throw IperfPeerError(peer: name, problem: .protocolBroken(error))
        }
        try expect(.displayResults, waiting: "DISPLAY_RESULTS")
        try? control.send(.iperfDone, deadline: .after(.seconds(1)))
        // iperf3 -s serves the next test only once it has closed this one: a next
        // run that connects before that is told "busy" (seen in CI, between two runs
        // of one A/B). Its close, or 2 s, ends the wait; it sends nothing more.
        _ = try? control.state(deadline: deadline(.seconds(2)), waiting: "the server to close the test")

        return try assemble(
            method: method, ways: ways, wayOfStream: wayOfStream, connections: connections, outcomes: outcomes,
            infos: infos, theirs: theirs, localCPU: localCPU, elapsed: elapsed, intervals: sampler.intervals,
            local: connection.localAddress?.host,
            remote: connection.remoteAddress)
    }

    /// Each direction's result from both sides' figures, each checked against
    /// what this machine saw.
    private func assemble(
        method: ProbeMethod, ways: [ProbeDirection], wayOfStream: [ProbeDirection], connections: [TCPConnection],
        outcomes: [StreamOutcome], infos: [Int: TCPInfo], theirs: IperfResults, localCPU: CPUUsage,
        elapsed: Double, intervals: (ProbeDirection) -> [Interval], local: String?,
        remote: SocketAddress?
    ) throws -> ProbeRun {
        let name = request.endpoint.description
        func impossible(_ what: String) -> ProbeFailedError {
            ProbeFailedError(endpoint: request.endpoint, message: "\(name) reported impossible figures (\(what)): not trusted")
        }
        guard theirs.streams.count == connections.count else {
            throw impossible("results for \(theirs.streams.count) streams, not \(connections.count)")
        }
        let serverSeconds = elapsed + 0.5
        guard theirs.cpuTotal / 100 * elapsed <= serverSeconds * PeerFigures.maximumCPUs else { throw impossible("CPU \(theirs.cpuTotal) %") }
        let serverCPU = CPUUsage(
            userSeconds: theirs.cpuUser / 100 * elapsed, systemSeconds: theirs.cpuSystem / 100 * elapsed,
            hostBusySeconds: nil, hostSoftirqSeconds: nil, hostTotalSeconds: nil)
        var results: [RunResult] = []
        for way in ways {
            var streamResults: [StreamResult] = []
            var senderInfos: [(TCPInfo, sendBuffer: Int)] = []
            var serverRetransmits: UInt32 = 0
            for index in connections.indices where wayOfStream[index] == way {
                let id = IperfResults.streamID(index)
                guard let report = theirs.streams.first(where: { $0.id == id }) else { throw impossible("no stream \(id)") }
                let moved = outcomes[index].bytes
                let bytes: UInt64
                let seconds: Double
                let info: TCPInfo?
                if way == .send {
                    // The server counts what arrived: never more than was sent.
                    guard report.bytes <= moved else { throw impossible("stream \(id): \(report.bytes) bytes received of \(moved) sent") }
                    bytes = report.bytes
                    let receiverSeconds = report.endTime - report.startTime
                    guard receiverSeconds <= serverSeconds else { throw impossible("stream \(id) took \(receiverSeconds) s") }
                    guard let timed = PeerFigures.streamSeconds(bytes: bytes, seconds: receiverSeconds, fallback: elapsed) else {
                        throw impossible("stream \(id): \(bytes) bytes in \(receiverSeconds) s")
                    }
                    seconds = timed
                    info = infos[index]
                    if let info { senderInfos.append((info, connections[index].sendBufferBytes)) }
                } else {
                    // What arrived here cannot exceed what the server says it sent.
                    guard report.bytes >= moved else { throw impossible("stream \(id): \(report.bytes) bytes sent but \(moved) arrived") }
                    bytes = moved
                    seconds = PeerFigures.streamSeconds(bytes: moved, seconds: outcomes[index].seconds, fallback: elapsed) ?? elapsed
                    info = nil
                    serverRetransmits &+= UInt32(clamping: max(0, report.retransmits))
                }
                streamResults.append(
                    StreamResult(
                        index: index, bytes: bytes, seconds: seconds, tcpInfo: info,
                        sendBufferBytes: way == .send ? connections[index].sendBufferBytes : 0,
                        receiveBufferBytes: way == .receive ? connections[index].receiveBufferBytes : 0))
            }
            var info: TCPInfo
            var sendBuffer = 0
            if way == .send {
                (info, sendBuffer) = RunResult.aggregate(senderInfos)
            } else {
                info = TCPInfo(kernelBytes: [])
                info.totalRetransmits = serverRetransmits
            }
            results.append(
                RunResult(
                    method: method, direction: way, bytes: streamResults.reduce(0) { $0 + $1.bytes },
                    seconds: streamResults.map(\.seconds).max() ?? 0,
                    sender: way == .send ? localCPU : serverCPU, receiver: way == .send ? serverCPU : localCPU,
                    tcpInfo: info, tcpInfoFrom: way == .send ? .local : .unavailable, streams: streamResults, intervals: intervals(way),
                    congestion: way == .send ? connections.first?.congestionControl : theirs.congestion,
                    sendBufferBytes: sendBuffer, receiveBufferBytes: streamResults.map(\.receiveBufferBytes).min() ?? 0))
        }
        return ProbeRun(results: results, localAddress: local, remoteAddress: remote, remote: nil)
    }

    /// Waits (bounded) until every byte written to `connections` is acknowledged.
    private func waitUntilAcknowledged(_ connections: [TCPConnection], deadline: Deadline) {
        while !deadline.hasPassed && interruption?.signal == nil {
            let pending = connections.contains { connection in
                guard let info = try? connection.tcpInfo() else { return false }
                return info.unacked > 0 || (info.notsentBytes ?? 0) > 0
            }
            if !pending { return }
            try? Deadline.after(.milliseconds(2), interruption: interruption).sleep()
        }
    }
}
