import CNetlink
import Foundation
import Glibc
import Synchronization
import SystemPackage

/// One stream's bulk transfer as `StreamPump` drives it, a step at a time.
///
/// A stream is driven by one thread; others read its figures only after that
/// thread is done (the pump's join orders the two), hence `@unchecked Sendable`.
protocol PumpedStream: AnyObject, Sendable {
    var connection: TCPConnection { get }
    /// The stream's stall and deadline rule.
    var wait: TransferWait { get }
    var isFinished: Bool { get }
    /// Moves what the socket takes or has (or finds the stream's end), waiting in
    /// the kernel at most the wait's slice.
    /// - Returns: the bytes moved; 0 when none did.
    func step() throws -> Int
}

/// A stream cut off because another stream of the same run failed.
struct StreamCutOff: Error, CustomStringConvertible {
    var description: String { "cut off: another stream failed" }
}

/// Runs streams to their ends, each on its own thread, blocking in the kernel.
///
/// Why not one thread polling all of a direction's streams, as iperf3 up to 3.15
/// does: measured interleaved against this design with four streams, a poll loop
/// on non-blocking sockets saved 13–18 % of the host's CPU per GiB on an unshaped
/// two-core veth (sender CPU unchanged), but behind a 1 Gbit/s shaper — a real
/// link's case — it cost 1.2–1.3× the sender's and 1.2–1.4× the host's CPU per GiB:
/// each wake-up there moves little, and a poll, the call and the call that finds
/// the socket full cost more than a call that sleeps until its bytes fit (README,
/// "Performance").
enum StreamPump {
    /// Runs every stream to its end. When one fails, the others' sockets are shut
    /// and they end with `StreamCutOff`. `ended` hears of each stream as it ends,
    /// on its thread (a sender's end may be what its caller waits for).
    static func run(
        _ streams: [any PumpedStream], ended: (@Sendable (Int, Result<Void, any Error>) -> Void)? = nil
    ) -> [Result<Void, any Error>] {
        if streams.count == 1, let stream = streams.first {
            let result = runOne(stream)
            ended?(0, result)
            return [result]
        }
        let results = Mutex<[Int: Result<Void, SendableError>]>([:])
        let group = DispatchGroup()
        for (index, stream) in streams.enumerated() {
            group.enter()
            Thread.detachNewThread {
                var result = runOne(stream)
                let cutsOffOthers = results.withLock { results -> Bool in
                    let anotherFailed = results.values.contains { if case .failure = $0 { true } else { false } }
                    if case .failure = result, anotherFailed { result = .failure(StreamCutOff()) }
                    results[index] = result.mapError(SendableError.init)
                    if case .failure = result { return !anotherFailed }
                    return false
                }
                // Unblock the others at once: each sees its socket shut and ends.
                if cutsOffOthers { for other in streams where other !== stream { other.connection.shutdownBoth() } }
                ended?(index, result)
                group.leave()
            }
        }
        group.wait()
        let all = results.withLock { $0 }
        return streams.indices.map { index in
            switch all[index] {
            case .success?: .success(())
            case .failure(let error)?: .failure(error.underlying)
            case nil: .failure(StreamCutOff())
            }
        }
    }

    private static func runOne(_ stream: any PumpedStream) -> Result<Void, any Error> {
        Result {
            let wait = stream.wait
            while !stream.isFinished {
                let moved = try stream.step()
                if moved > 0 { try wait.progressed(moved) } else if !stream.isFinished { try wait.idle() }
            }
        }
    }
}

/// Sends from a file, again and again from its start, until a byte budget or a
/// time is reached; then half-closes (and, for a server, waits for the client's end).
final class SendingStream: PumpedStream, @unchecked Sendable {
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
    private let endsAt: MonotonicTime?
    private let sender: FileSender
    private let fileSize: Int
    private let budget: UInt64
    private let finish: Finish
    private let moved: ((Int) -> Void)?
    private var offset = 0
    private var chunk = SendChunk()
    private var awaitingEnd = false
    private var ackedWhileAwaiting: UInt64 = 0
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
        self.endsAt = endsAt.map(MonotonicTime.init)
        self.fileSize = fileSize
        self.budget = budget
        self.finish = finish
        self.moved = moved
        sender = try FileSender(method: method, file: file, socket: connection.fd, bufferSize: bufferSize, wait: wait)
    }

    var isFinished: Bool { finished }

    func step() throws -> Int {
        if awaitingEnd { return try awaitEnd() }
        var largest = SendChunk.largest
        if let endsAt {
            // One clock reading per call, for the end and for the call's size (a timed
            // stream's calls are bounded in time, so it ends on time).
            let now = MonotonicTime.now
            if now >= endsAt {
                end()
                return 0
            }
            largest = chunk.next(connection, now: now)
        }
        if sent >= budget {
            end()
            return 0
        }
        let count = min(largest, fileSize - offset, Int(clamping: budget - sent))
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
            let n = try Syscall.attempt { recv(connection.fd, nil, 1, Int32(MSG_TRUNC)) }
            if n != 0 { throw ServerStream.StreamFailure.unexpectedData }
            finished = true
        } catch let error as Errno {
            guard TransferWait.waited(error) else { throw error }
            // The client's end comes after the last byte it receives: on a slow link
            // the socket buffer takes seconds to drain, and every byte acknowledged
            // meanwhile shows the client is still taking data.
            if let acked = (try? connection.tcpInfo())?.bytesAcked, acked > ackedWhileAwaiting {
                ackedWhileAwaiting = acked
                try wait.delivered()
            }
        }
        return 0
    }
}

/// Receives and discards, to the end of the stream or a byte limit.
final class ReceivingStream: PumpedStream, @unchecked Sendable {
    enum Limit {
        /// To the end of the stream.
        case none
        /// Exactly this many bytes; an earlier end is an error.
        case exactly(UInt64)
    }

    let connection: TCPConnection
    let wait: TransferWait
    private let drainer: Drainer
    private let limit: Limit
    private let shutsWhenDone: Bool
    private let moved: ((Int) -> Void)?
    private var lowWater: LowWater?
    private var finished = false
    private(set) var received: UInt64 = 0
    /// SO_RCVBUF when the stream started, before autotuning grew it.
    let receiveBufferAtStart: Int
    /// When the first and the last byte arrived (as plain nanoseconds: they are
    /// taken after every call).
    private var firstAt: MonotonicTime?
    private var lastAt: MonotonicTime?
    var first: ContinuousClock.Instant? { firstAt?.instant }
    var last: ContinuousClock.Instant? { lastAt?.instant }

    /// - Parameters:
    ///   - shutsWhenDone: half-closes at the end: tells a nettune server every byte arrived.
    ///   - gathers: lets the kernel gather bytes before waking this receiver
    ///     (`LowWater`); only for a sender whose last byte is followed by its FIN,
    ///     which wakes the receiver for the rest (nettune's own peers; an iperf3
    ///     sender stops without one).
    init(
        connection: TCPConnection, drain: DrainMethod, limit: Limit, shutsWhenDone: Bool, gathers: Bool = false, wait: TransferWait,
        moved: ((Int) -> Void)? = nil
    ) throws {
        self.connection = connection
        self.wait = wait
        self.limit = limit
        self.shutsWhenDone = shutsWhenDone
        self.moved = moved
        lowWater = gathers ? LowWater() : nil
        drainer = try Drainer(method: drain, socket: connection.fd, wait: wait)
        receiveBufferAtStart = connection.receiveBufferBytes
        if case .exactly(0) = limit { finished = true }
    }

    var isFinished: Bool { finished }

    func step() throws -> Int {
        let want: Int
        switch limit {
        case .none: want = 1 << 20
        case .exactly(let bytes): want = Int(clamping: bytes - received)
        }
        // Not before the first byte: the stream is timed from its arrival.
        if firstAt != nil { lowWater?.adjust(connection, want: want) }
        guard let n = try drainer.drainSome(limit: max(1, want)) else { return 0 }
        if n == 0 {
            if case .exactly(let bytes) = limit { throw ServerStream.StreamFailure.closedEarly(received: received, expected: bytes) }
            done()
            return 0
        }
        let now = MonotonicTime.now
        if firstAt == nil { firstAt = now }
        lastAt = now
        received += UInt64(n)
        moved?(n)
        switch limit {
        case .none: break
        case .exactly(let bytes): if received >= bytes { done() }
        }
        return n
    }

    private func done() {
        if shutsWhenDone { connection.shutdownWrite() }
        finished = true
    }
}

/// How many bytes the kernel gathers before it wakes a receiver (SO_RCVLOWAT).
///
/// By default a blocked receiver is woken for every segment that arrives; on a fast
/// path that is tens of thousands of wake-ups a second, and the sender's CPU pays
/// for each (the wake-up runs where the segment is delivered). With 128 KiB
/// gathered — iperf3's read size — measured interleaved on the lab's veth and
/// behind a 1 Gbit/s shaper, the receiver used 25–45 % less CPU per GiB and the
/// unshaped throughput rose 10–25 % (README, "Performance").
///
/// Not when the peer sends with read/write: measured interleaved on the veth, a
/// gathering receiver cost that sender 15–20 % of its throughput (18.4 against
/// 22.5 Gbit/s, 1 GiB file, five rounds), while with splice it gained 40 % and with
/// sendfile 0–15 %.
///
/// The mark never exceeds a quarter of the socket's receive buffer, so the kernel
/// neither grows the buffer nor clamps the window for it (a starved `tcp_rmem`
/// is measured as it is); marks under 64 KiB are not worth a change. Below the
/// bytes the stream still expects it drops to 1, so an exact end is not held back.
struct LowWater {
    static let target = 128 << 10
    static let smallest = 64 << 10
    /// The buffer is read again only every this many steps while the mark is below
    /// its target (autotuning grows it during the transfer).
    static let recheckEvery = 16

    private(set) var mark = 1
    private var steps = 0

    /// Whether a receiver should gather when its peer sends with `method`.
    static func helps(_ method: ProbeMethod) -> Bool { method != .readwrite }

    mutating func adjust(_ connection: TCPConnection, want: Int) {
        var wanted = mark
        if want < Self.target {
            wanted = 1
        } else if mark < Self.target {
            steps += 1
            guard (steps - 1) % Self.recheckEvery == 0 else { return }
            let room = min(Self.target, connection.receiveBufferBytes / 4)
            wanted = room >= Self.smallest ? room : 1
        }
        if wanted != mark, connection.setReceiveLowWater(wanted) { mark = wanted }
    }
}
