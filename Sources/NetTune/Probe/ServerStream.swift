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

    /// Runs `streams`, each on its own thread (`StreamPump`).
    /// - Returns: each stream's report or failure, and the bytes each moved (a
    ///   failed one's too).
    static func run(_ streams: [ServerStream]) -> (results: [Result<StreamReport, any Error>], moved: [UInt64]) {
        var pumped: [any PumpedStream] = []
        for stream in streams {
            do {
                pumped.append(try stream.pumped())
            } catch {
                let results = streams.map { $0.index == stream.index ? Result<StreamReport, any Error>.failure(error) : .failure(StreamCutOff()) }
                return (results, streams.map { _ in 0 })
            }
        }
        let results = StreamPump.run(pumped)
        let moved = pumped.map { ($0 as? ReceivingStream)?.received ?? ($0 as? SendingStream)?.sent ?? 0 }
        let firstArrival = pumped.compactMap { ($0 as? ReceivingStream)?.first }.min()
        return (
            zip(streams, zip(pumped, results)).map { stream, outcome in
                outcome.1.flatMap { Result { try stream.report(of: outcome.0, firstArrival: firstArrival) } }
            },
            moved
        )
    }

    /// The stream for its pump: a drain of the client's bytes (`.send`), or a send
    /// from the server's payload that ends when the client has closed its end, so
    /// every byte is acknowledged when its TCP_INFO is read.
    func pumped() throws -> any PumpedStream {
        let wait = TransferWait(deadline: deadline, stallTimeout: idleTimeout)
        if direction == .send {
            return try ReceivingStream(
                // A timed probe declares no size: `--max-bytes` does not bound it,
                // `--max-duration` does (the deadline), as for an iperf3 client's -t.
                connection: connection, drain: drain, limit: exact ? .exactly(bytes) : .none, shutsWhenDone: false,
                gathers: LowWater.helps(method),
                wait: wait)
        }
        guard let file else { throw StreamFailure.noPayload }
        return try SendingStream(
            connection: connection, file: file, fileSize: fileSize, method: method, bufferSize: 128 << 10,
            budget: exact ? bytes : .max, endsAt: exact ? nil : start + (duration ?? .zero), finish: .shutdownAndAwaitEnd, wait: wait)
    }

    /// - Parameter firstArrival: the first payload byte of any of the run's streams.
    func report(of stream: any PumpedStream, firstArrival: ContinuousClock.Instant?) throws -> StreamReport {
        if let receiving = stream as? ReceivingStream {
            // Timed from the first payload byte, as the probe times a run: the "go"
            // that starts the client may arrive late (retransmitted on a lossy path),
            // and that wait is not the transfer's. The run's first byte, not this
            // stream's: the longest stream's time is then the run's, where each
            // stream's own window (64 streams of 16 KiB, each in one read) made it
            // nanoseconds and the throughput hundreds of Tbit/s.
            let from = firstArrival ?? receiving.first ?? start
            let seconds = max(0, ((receiving.last ?? start) - from).seconds)
            return StreamReport(
                index: index, direction: direction, bytes: receiving.received, nanoseconds: UInt64(seconds * 1e9),
                receiveBuffer: UInt32(clamping: receiving.receiveBufferAtStart),
                sendBuffer: UInt32(clamping: connection.sendBufferBytes), tcpInfo: nil)
        }
        let sending = stream as? SendingStream
        return StreamReport(
            index: index, direction: direction, bytes: sending?.sent ?? 0,
            nanoseconds: UInt64(max(0, ((sending?.sentAt ?? start) - start).seconds) * 1e9),
            receiveBuffer: UInt32(clamping: connection.receiveBufferBytes),
            sendBuffer: UInt32(clamping: connection.sendBufferBytes), tcpInfo: try connection.tcpInfo())
    }

    enum StreamFailure: Error, CustomStringConvertible {
        case closedEarly(received: UInt64, expected: UInt64)
        case noPayload
        case unexpectedData

        var description: String {
            switch self {
            case .closedEarly(let received, let expected):
                return "the client closed early after \(ByteCount(Int(clamping: received))) of \(ByteCount(Int(clamping: expected)))"
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
