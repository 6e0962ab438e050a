import CNetlink
import Glibc
import SystemPackage

/// What a pumped stream waits for next.
enum PumpEvent: Equatable {
    case writable
    case readable
}

/// One stream's bulk transfer as `StreamPump` drives it, a step at a time.
protocol PumpedStream: AnyObject {
    var socket: Int32 { get }
    /// The stream's stall and deadline rule.
    var wait: TransferWait { get }
    /// What it waits for; nil once it has finished.
    var waitsFor: PumpEvent? { get }
    /// When a timed stream ends whether or not its socket becomes ready.
    var endsAt: ContinuousClock.Instant? { get }
    /// Moves what the socket takes or has now (or finds the stream's end).
    /// - Returns: the bytes moved; 0 when none did.
    func step() throws -> Int
}

/// The streams of one direction were cut off because another of them failed.
struct StreamCutOff: Error, CustomStringConvertible {
    var description: String { "cut off: another stream failed" }
}

/// Runs the streams of one direction on one thread.
///
/// A single stream blocks in the kernel (each call waits at most the wait's slice:
/// cheaper than a poll per wake-up). Several share one poll(2) on non-blocking
/// sockets, as iperf3 up to 3.15 does: measured on a two-core veth with four
/// streams, one thread per stream cost 1.2–1.5× the host CPU per GiB of one thread
/// for all four (eight threads of two tools contending for two cores), for no
/// more throughput (README, "Performance").
enum StreamPump {
    /// Runs every stream to its end. When one fails, the others stop where they
    /// are and end with `StreamCutOff`.
    static func run(_ streams: [any PumpedStream], deadline: Deadline) -> [Result<Void, any Error>] {
        if streams.count == 1, let stream = streams.first { return [runOne(stream)] }
        for stream in streams { Syscall.setNonBlocking(stream.socket, true) }
        var results = [Result<Void, any Error>?](repeating: nil, count: streams.count)
        var polled: [pollfd] = []
        var members: [Int] = []
        while true {
            polled.removeAll(keepingCapacity: true)
            members.removeAll(keepingCapacity: true)
            var wake = ContinuousClock.now + TransferWait.slice
            for (index, stream) in streams.enumerated() where results[index] == nil {
                guard let event = stream.waitsFor else {
                    results[index] = .success(())
                    continue
                }
                polled.append(pollfd(fd: stream.socket, events: Int16(event == .writable ? POLLOUT : POLLIN), revents: 0))
                members.append(index)
                if let end = stream.endsAt { wake = min(wake, end) }
            }
            if members.isEmpty { break }
            // A signal wakes the poll at once through the interruption's pipe.
            if let interruption = deadline.interruption { polled.append(pollfd(fd: interruption.fd, events: Int16(POLLIN), revents: 0)) }
            let timeout = Int32(clamping: max(0, (wake - .now).millisecondsRoundedUp))
            _ = try? Syscall.attempt { poll(&polled, nfds_t(polled.count), timeout) }
            let now = ContinuousClock.now
            for (slot, index) in members.enumerated() {
                let stream = streams[index]
                do {
                    let due = stream.endsAt.map { now >= $0 } ?? false
                    let moved = polled[slot].revents != 0 || due ? try stream.step() : 0
                    if moved > 0 { try stream.wait.progressed(moved) } else { try stream.wait.idle() }
                } catch {
                    results[index] = .failure(error)
                    return results.map { $0 ?? .failure(StreamCutOff()) }
                }
            }
        }
        return results.map { $0 ?? .success(()) }
    }

    private static func runOne(_ stream: any PumpedStream) -> Result<Void, any Error> {
        Result {
            while stream.waitsFor != nil {
                let moved = try stream.step()
                if moved > 0 { try stream.wait.progressed(moved) } else if stream.waitsFor != nil { try stream.wait.idle() }
            }
        }
    }
}

/// Sends from a file, again and again from its start, until a byte budget or a
/// time is reached; then half-closes (and, for a server, waits for the client's end).
final class SendingStream: PumpedStream {
    /// What happens once the last byte is handed to the kernel.
    enum Finish {
        /// Nothing: the other end is told on a control connection (iperf3).
        case keepOpen
        /// Half-close: the receiver reads to the end.
        case shutdownWrite
        /// Half-close, then wait for the receiver's own end, so every byte has been
        /// acknowledged when the stream finishes; any byte from it is an error.
        case shutdownAndAwaitEnd
    }

    let connection: TCPConnection
    let wait: TransferWait
    let endsAt: ContinuousClock.Instant?
    private let sender: FileSender
    private let fileSize: Int
    private let budget: UInt64
    private let finish: Finish
    private let moved: ((Int) -> Void)?
    private var offset = 0
    private var awaitingEnd = false
    private var finished = false
    private(set) var sent: UInt64 = 0
    /// When the last byte went to the kernel.
    private(set) var sentAt: ContinuousClock.Instant?

    /// - Parameters:
    ///   - budget: bytes to send; with `endsAt`, the most it may send.
    ///   - endsAt: a timed stream's end.
    ///   - moved: told each step's bytes (progress).
    init(
        connection: TCPConnection, file: Int32, fileSize: Int, method: ProbeMethod, bufferSize: Int, budget: UInt64,
        endsAt: ContinuousClock.Instant?, finish: Finish, wait: TransferWait, moved: ((Int) -> Void)? = nil
    ) throws {
        guard fileSize > 0 else { throw ServerStream.StreamFailure.noPayload }
        self.connection = connection
        self.wait = wait
        self.endsAt = endsAt
        self.fileSize = fileSize
        self.budget = budget
        self.finish = finish
        self.moved = moved
        sender = try FileSender(method: method, file: file, socket: connection.fd, bufferSize: bufferSize, wait: wait)
    }

    var socket: Int32 { connection.fd }
    var waitsFor: PumpEvent? { finished ? nil : awaitingEnd ? .readable : .writable }

    func step() throws -> Int {
        if awaitingEnd { return try awaitEnd() }
        if sent >= budget || endsAt.map({ ContinuousClock.now >= $0 }) == true {
            end()
            return 0
        }
        // Chunks bound a blocking call, so a timed run ends on time.
        let count = min(ProbeClient.chunkSize, fileSize - offset, Int(clamping: budget - sent))
        let n = try sender.sendSome(offset: offset, count: count)
        sent += UInt64(n)
        offset = (offset + n) % fileSize
        if n > 0 { moved?(n) }
        return n
    }

    private func end() {
        sentAt = .now
        switch finish {
        case .keepOpen:
            finished = true
        case .shutdownWrite:
            connection.shutdownWrite()
            finished = true
        case .shutdownAndAwaitEnd:
            connection.shutdownWrite()
            awaitingEnd = true
        }
    }

    private func awaitEnd() throws -> Int {
        do {
            let n = try Syscall.attempt { recv(socket, nil, 1, Int32(MSG_TRUNC)) }
            if n != 0 { throw ServerStream.StreamFailure.unexpectedData }
            finished = true
        } catch let error as Errno {
            guard TransferWait.waited(error) else { throw error }
        }
        return 0
    }
}

/// Receives and discards, to the end of the stream or a byte limit.
final class ReceivingStream: PumpedStream {
    enum Limit {
        /// To the end of the stream.
        case none
        /// Exactly this many bytes; an earlier end is an error.
        case exactly(UInt64)
        /// To the end of the stream, which must come by this many bytes.
        case atMost(UInt64)
    }

    let connection: TCPConnection
    let wait: TransferWait
    var endsAt: ContinuousClock.Instant? { nil }
    private let drainer: Drainer
    private let limit: Limit
    private let shutsWhenDone: Bool
    private let moved: ((Int) -> Void)?
    private var finished = false
    private(set) var received: UInt64 = 0
    /// SO_RCVBUF when the stream started, before autotuning grew it.
    let receiveBufferAtStart: Int
    /// When the first and the last byte arrived.
    private(set) var first: ContinuousClock.Instant?
    private(set) var last: ContinuousClock.Instant?

    /// - Parameter shutsWhenDone: half-closes at the end: tells a nettune server every byte arrived.
    init(connection: TCPConnection, drain: DrainMethod, limit: Limit, shutsWhenDone: Bool, wait: TransferWait, moved: ((Int) -> Void)? = nil) throws {
        self.connection = connection
        self.wait = wait
        self.limit = limit
        self.shutsWhenDone = shutsWhenDone
        self.moved = moved
        drainer = try Drainer(method: drain, socket: connection.fd, wait: wait)
        receiveBufferAtStart = connection.receiveBufferBytes
        if case .exactly(0) = limit { finished = true }
    }

    var socket: Int32 { connection.fd }
    var waitsFor: PumpEvent? { finished ? nil : .readable }

    func step() throws -> Int {
        let want: Int
        switch limit {
        case .none: want = 1 << 20
        case .exactly(let bytes): want = Int(clamping: bytes - received)
        // One byte beyond the limit shows the sender sent too much.
        case .atMost(let bytes): want = Int(clamping: bytes - min(received, bytes)) + 1
        }
        guard let n = try drainer.drainSome(limit: max(1, want)) else { return 0 }
        if n == 0 {
            if case .exactly(let bytes) = limit { throw ServerStream.StreamFailure.closedEarly(received: received, expected: bytes) }
            done()
            return 0
        }
        let now = ContinuousClock.now
        if first == nil { first = now }
        last = now
        received += UInt64(n)
        moved?(n)
        switch limit {
        case .none: break
        case .exactly(let bytes): if received >= bytes { done() }
        case .atMost(let bytes): if received > bytes { throw ServerStream.StreamFailure.tooMuch(limit: bytes) }
        }
        return n
    }

    private func done() {
        if shutsWhenDone { connection.shutdownWrite() }
        finished = true
    }
}
