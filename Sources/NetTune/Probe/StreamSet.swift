import Foundation
import Synchronization
import SystemPackage

/// What one stream moved, as this machine saw it.
struct StreamOutcome: Sendable {
    var bytes: UInt64
    /// For a receive stream: start to its last byte here.
    var seconds: Double
}

/// The streams' shared state: what each moved so far (for progress), and how each ended.
final class StreamSet: Sendable {
    /// One stream's count. Atomics, not a lock: a stream adds to its own after every
    /// bulk call, and that call's user-space share is what sender CPU is compared on.
    private final class Counter: Sendable { let bytes = Atomic<UInt64>(0) }
    private let counters: [Counter]
    private let ended = Mutex<[Int: Result<StreamOutcome, SendableError>]>([:])

    init(count: Int) {
        counters = (0..<count).map { _ in Counter() }
    }

    func add(_ count: Int, to index: Int) {
        counters[index].bytes.add(UInt64(count), ordering: .relaxed)
    }

    func moved(_ index: Int) -> UInt64 { counters[index].bytes.load(ordering: .relaxed) }

    func finish(_ index: Int, _ outcome: Result<StreamOutcome, any Error>) {
        ended.withLock { $0[index] = outcome.mapError(SendableError.init) }
    }

    var failed: Bool {
        ended.withLock { $0.values.contains { if case .failure = $0 { return true } else { return false } } }
    }

    func isFinished(_ index: Int) -> Bool { ended.withLock { $0[index] != nil } }

    /// Every stream's outcome, in order, or why the transfer failed: a signal
    /// first (it is why the others were cut off), then the first real cause rather
    /// than the closed sockets of the streams cut off after it.
    func outcomes() throws -> [StreamOutcome] {
        let all = ended.withLock { $0 }.sorted { $0.key < $1.key }
        let causes = all.compactMap { entry -> (any Error)? in
            if case .failure(let box) = entry.value { return box.underlying } else { return nil }
        }
        if let interrupted = causes.first(where: { $0 is Interrupted }) { throw interrupted }
        if let cause = causes.first(where: { !StreamWork.isCutOff($0) }) ?? causes.first { throw cause }
        return all.map { entry in
            if case .success(let outcome) = entry.value { return outcome }
            return StreamOutcome(bytes: 0, seconds: 0)
        }
    }
}

/// An error carried across threads. Errors here are value types from this
/// library (and `Errno`).
struct SendableError: Error, @unchecked Sendable {
    let underlying: any Error
    init(_ underlying: any Error) { self.underlying = underlying }
}

/// One stream's transfer, as `StreamPump` runs it.
struct StreamWork: @unchecked Sendable {
    let index: Int
    let connection: TCPConnection
    let file: Int32?
    let method: ProbeMethod
    /// Bytes to move (sized), or the bound of a timed run.
    let bytes: UInt64
    let timed: Bool
    let duration: Duration?
    let start: ContinuousClock.Instant
    let deadline: Deadline
    let stallTimeout: Duration
    let bufferSize: Int
    let drain: DrainMethod
    /// Half-closes the socket when done: nettune's server reads to the end; an
    /// iperf3 server is told the end on the control connection instead.
    var closesWhenDone = true

    /// The stream, ready for its direction's pump.
    func pumped(_ streams: StreamSet, way: ProbeDirection) throws -> any PumpedStream {
        let wait = TransferWait(deadline: deadline, stallTimeout: stallTimeout)
        let index = index
        let moved = { (count: Int) in streams.add(count, to: index) }
        if way == .receive {
            // Our FIN tells a nettune server every byte arrived: it reads its TCP_INFO then.
            return try ReceivingStream(
                connection: connection, drain: drain, limit: .none, shutsWhenDone: closesWhenDone,
                gathers: closesWhenDone && LowWater.helps(method), wait: wait,
                moved: moved)
        }
        guard let file else { throw PayloadError.unusable(path: "-", reason: "no payload") }
        var info = stat()
        try Syscall.call { fstat(file, &info) }
        return try SendingStream(
            connection: connection, file: file, fileSize: Int(info.st_size), method: method, bufferSize: bufferSize,
            budget: timed ? .max : bytes, endsAt: timed ? start + (duration ?? .zero) : nil,
            finish: closesWhenDone ? .shutdownWrite : .keepOpen, wait: wait, moved: moved)
    }

    /// What a finished stream moved, and for how long: a sender until its last
    /// byte went to the kernel, a receiver until its last byte arrived.
    func outcome(of stream: any PumpedStream) -> StreamOutcome {
        if let sending = stream as? SendingStream {
            return StreamOutcome(bytes: sending.sent, seconds: ((sending.sentAt ?? .now) - start).seconds)
        }
        let receiving = stream as? ReceivingStream
        return StreamOutcome(bytes: receiving?.received ?? 0, seconds: max(0, ((receiving?.last ?? start) - start).seconds))
    }

    /// Runs `works` in the background — a thread per stream — and records every
    /// stream's outcome in `streams`; leaves `group` at the end.
    static func launch(_ works: [(way: ProbeDirection, work: StreamWork)], streams: StreamSet, group: DispatchGroup) {
        group.enter()
        Thread.detachNewThread {
            defer { group.leave() }
            var pumped: [any PumpedStream] = []
            for (way, work) in works {
                do {
                    pumped.append(try work.pumped(streams, way: way))
                } catch {
                    streams.finish(work.index, .failure(error))
                    for (_, other) in works where other.index != work.index { streams.finish(other.index, .failure(StreamCutOff())) }
                    return
                }
            }
            let ready = pumped
            _ = StreamPump.run(ready) { position, result in
                let work = works[position].work
                streams.finish(work.index, result.map { work.outcome(of: ready[position]) })
            }
        }
    }

    /// The failure of a stream whose socket was shut because another stream failed.
    static func isCutOff(_ error: any Error) -> Bool {
        let errno = (error as? SendError)?.errno ?? (error as? Errno)
        if error is StreamCutOff { return true }
        return errno == .brokenPipe || errno == .connectionReset || errno == .badFileDescriptor || errno == .socketNotConnected
    }
}
