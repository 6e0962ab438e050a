import Foundation
import Glibc
import Synchronization
import SystemPackage
import Testing

@testable import NetTune

/// `StreamPump` and its two streams over real TCP on 127.0.0.1: every method's
/// bytes arrive whole and in order through partial sends, and a stall, a signal,
/// an early end, an excess and stray bytes each end the right stream.
@Suite struct StreamPumpTests {
    /// As the binaries do: a write to a shut socket fails with EPIPE instead of killing the process.
    init() { SignalMask.ignoreBrokenPipe() }

    /// Connected pairs on loopback: `near` is what the pump drives, `far` the peer.
    static func pairs(_ count: Int) throws -> [(near: TCPConnection, far: TCPConnection)] {
        let listener = try TCPListener(host: "127.0.0.1", port: 0)
        return try (0..<count).map { _ in
            let near = try TCPConnection.connect(to: Endpoint(host: "127.0.0.1", port: listener.port), deadline: .after(.seconds(5)))
            guard let far = try listener.accept(deadline: .after(.seconds(5))) else { throw Errno.timedOut }
            return (near, far)
        }
    }

    /// A payload whose every byte says where it is, so a byte out of place shows,
    /// open for reading; closed and deleted with the value.
    final class Pattern {
        let directory: TemporaryDirectory
        let bytes: [UInt8]
        let file: FileDescriptor

        init(size: Int) throws {
            directory = try TemporaryDirectory()
            bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) }
            let path = directory.path + "/pattern.bin"
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            file = try FileDescriptor.open(FilePath(path), .readOnly)
        }

        deinit { try? file.close() }

        var fd: Int32 { file.rawValue }
        var size: Int { bytes.count }
    }

    /// Reads `far` to its end, slowly at first, so the sender meets a full buffer.
    static func readAll(_ far: TCPConnection) -> [UInt8] {
        var bytes: [UInt8] = []
        var reads = 0
        while let more = try? far.receiveSome(limit: 64 << 10, deadline: .after(.seconds(10))), !more.isEmpty {
            bytes += more
            reads += 1
            if reads < 20 { usleep(2000) }
        }
        return bytes
    }

    /// Reads `far` to its end on a thread of its own; the semaphore is signalled then.
    static func readAllInBackground(_ far: TCPConnection) -> DispatchSemaphore {
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            _ = readAll(far)
            done.signal()
        }
        return done
    }

    static func wait(_ stall: Duration = .seconds(5), deadline: Deadline = .after(.seconds(30))) -> TransferWait {
        TransferWait(deadline: deadline, stallTimeout: stall)
    }

    @Test(arguments: ProbeMethod.allCases, [1, 3])
    func everyByteArrivesInOrderWrappingTheFile(method: ProbeMethod, streams: Int) throws {
        let pattern = try Pattern(size: 100_003)
        // Open until the streams are done: ARC may end a local after its last use.
        defer { withExtendedLifetime(pattern) {} }
        let connections = try Self.pairs(streams)
        for pair in connections { try Syscall.setSocketOption(pair.near.fd, SOL_SOCKET, SO_SNDBUF, 16 << 10) }
        let budgets = (0..<streams).map { 350_000 + $0 * 7 }
        let received = Mutex<[Int: [UInt8]]>([:])
        let readers = DispatchGroup()
        for (index, pair) in connections.enumerated() {
            readers.enter()
            Thread.detachNewThread {
                let bytes = Self.readAll(pair.far)
                received.withLock { $0[index] = bytes }
                readers.leave()
            }
        }
        let senders = try connections.enumerated().map { index, pair in
            try SendingStream(
                connection: pair.near, file: pattern.fd, fileSize: pattern.size, method: method, bufferSize: 200_000,
                budget: UInt64(budgets[index]), endsAt: nil, finish: .shutdownWrite, wait: Self.wait())
        }
        // Non-blocking, a send takes only what fits (as a blocking one does when its
        // slice runs out): every remainder read ahead must continue at the right byte.
        for pair in connections { Syscall.setNonBlocking(pair.near.fd, true) }
        let results = StreamPump.run(senders)
        readers.wait()
        for (index, result) in results.enumerated() {
            try result.get()
            #expect(senders[index].sent == UInt64(budgets[index]))
            let got = received.withLock { $0[index] } ?? []
            let misplaced = (0..<min(got.count, budgets[index])).first { got[$0] != pattern.bytes[$0 % pattern.size] }
            #expect(
                got.count == budgets[index] && misplaced == nil, "stream \(index) by \(method): \(got.count) bytes, first wrong at \(misplaced ?? -1)"
            )
        }
    }

    /// iperf3's client ends a test when its senders are done, and only then does the
    /// server close the streams it sends: a sender's end must be heard as it happens.
    @Test func eachStreamsEndIsHeardAsItHappens() throws {
        let pattern = try Pattern(size: 4096)
        // Open until the streams are done: ARC may end a local after its last use.
        defer { withExtendedLifetime(pattern) {} }
        let connections = try Self.pairs(2)
        let reader = Self.readAllInBackground(connections[0].far)
        let sender = try SendingStream(
            connection: connections[0].near, file: pattern.fd, fileSize: pattern.size, method: .sendfile, bufferSize: 0,
            budget: 10_000, endsAt: nil, finish: .shutdownWrite, wait: Self.wait())
        let receiver = try ReceivingStream(
            connection: connections[1].near, drain: .trunc, limit: .none, shutsWhenDone: false, wait: Self.wait(.seconds(3)))
        let far = connections[1].far
        let results = StreamPump.run([sender, receiver]) { index, _ in
            if index == 0 { far.shutdownWrite() }
        }
        for result in results { try result.get() }
        reader.wait()
    }

    @Test func severalReceiversDrainExactlyAndStopThere() throws {
        let connections = try Self.pairs(4)
        let sizes = [1, 70_000, 300_000, 0]
        for (pair, size) in zip(connections, sizes) {
            try pair.far.sendAll([UInt8](repeating: 7, count: size), deadline: .after(.seconds(5)))
        }
        let streams = try zip(connections, sizes).map { pair, size in
            try ReceivingStream(connection: pair.near, drain: .recv, limit: .exactly(UInt64(size)), shutsWhenDone: false, wait: Self.wait())
        }
        for result in StreamPump.run(streams) { try result.get() }
        #expect(streams.map(\.received) == sizes.map(UInt64.init))
        #expect(streams[3].first == nil && streams[2].first != nil)
    }

    @Test func aStreamThatEndsEarlyFailsAndCutsOffTheOthers() throws {
        let connections = try Self.pairs(2)
        try connections[1].far.sendAll([1, 2, 3], deadline: .after(.seconds(5)))
        connections[1].far.shutdownWrite()
        let streams = try connections.map { pair in
            try ReceivingStream(connection: pair.near, drain: .trunc, limit: .exactly(10), shutsWhenDone: false, wait: Self.wait())
        }
        let results = StreamPump.run(streams)
        guard case .failure(let error) = results[1], let failure = error as? ServerStream.StreamFailure,
            case .closedEarly(let received, let expected) = failure
        else {
            Issue.record("stream 1 should have ended early: \(results[1])")
            return
        }
        #expect(received == 3 && expected == 10)
        guard case .failure(let other) = results[0] else {
            Issue.record("stream 0 should be cut off")
            return
        }
        #expect(StreamWork.isCutOff(other))
    }

    @Test func aPeerThatStopsReadingStallsItsStreamOnly() throws {
        let pattern = try Pattern(size: 65536)
        // Open until the streams are done: ARC may end a local after its last use.
        defer { withExtendedLifetime(pattern) {} }
        let connections = try Self.pairs(2)
        // Stream 0's peer reads everything (more than loopback moves before stream 1's
        // stall is seen: 1 GiB once finished first); stream 1's never reads.
        let reader = Self.readAllInBackground(connections[0].far)
        let streams = try connections.map { pair in
            try SendingStream(
                connection: pair.near, file: pattern.fd, fileSize: pattern.size, method: .sendfile, bufferSize: 0,
                budget: 1 << 40, endsAt: nil, finish: .shutdownWrite, wait: Self.wait(.milliseconds(400)))
        }
        let clock = ContinuousClock()
        let started = clock.now
        let results = StreamPump.run(streams)
        #expect(clock.now - started < .seconds(10))
        guard case .failure(let error) = results[1], let timeout = error as? TransferTimeout else {
            Issue.record("stream 1 should have stalled: \(results[1])")
            return
        }
        #expect(timeout.kind == .stalled)
        if case .failure(let other) = results[0] { #expect(StreamWork.isCutOff(other)) } else { Issue.record("stream 0 should be cut off") }
        connections[0].near.shutdownBoth()
        reader.wait()
    }

    @Test func timedStreamsEndOnTimeAndASignalEndsThemAtOnce() throws {
        let pattern = try Pattern(size: 65536)
        // Open until the streams are done: ARC may end a local after its last use.
        defer { withExtendedLifetime(pattern) {} }
        for interrupted in [false, true] {
            let connections = try Self.pairs(3)
            let readers = DispatchGroup()
            for pair in connections {
                readers.enter()
                Thread.detachNewThread {
                    _ = Self.readAll(pair.far)
                    readers.leave()
                }
            }
            let interruption = try Interruption.manual()
            let deadline = Deadline.after(.seconds(30), interruption: interruption)
            let clock = ContinuousClock()
            let started = clock.now
            let end = started + (interrupted ? .seconds(20) : .milliseconds(600))
            let streams = try connections.map { pair in
                try SendingStream(
                    connection: pair.near, file: pattern.fd, fileSize: pattern.size, method: .readwrite, bufferSize: 32 << 10,
                    budget: .max, endsAt: end, finish: .shutdownWrite, wait: Self.wait(deadline: deadline))
            }
            if interrupted {
                DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(300)) { interruption.trigger(SIGINT) }
            }
            let results = StreamPump.run(streams)
            let took = clock.now - started
            if interrupted {
                #expect(took < .seconds(3))
                let failures = results.compactMap { if case .failure(let error) = $0 { error } else { nil } }
                #expect(failures.contains { $0 is Interrupted })
                for pair in connections { pair.near.shutdownBoth() }
            } else {
                for result in results { try result.get() }
                #expect(took >= .milliseconds(600) && took < .seconds(3))
                #expect(streams.allSatisfy { $0.sent > 0 && $0.sentAt.map { $0 >= end } == true })
            }
            readers.wait()
        }
    }

    /// A server sender that has handed its last byte to the kernel waits for the
    /// client's end while a slow client drains the socket buffer: that is progress,
    /// not a stall (it was one at 500 kbit/s: `probe -R --time 3s` failed).
    @Test func aSenderAwaitingTheEndIsNotStalledWhileTheClientStillReads() throws {
        let pattern = try Pattern(size: 64 << 10)
        defer { withExtendedLifetime(pattern) {} }
        let pair = try Self.pairs(1)[0]
        // A fixed send buffer that takes the whole budget at once, as autotuning does on a slow link.
        try Syscall.setSocketOption(pair.near.fd, SOL_SOCKET, SO_SNDBUF, 1 << 20)
        let budget = 1_536 << 10
        let stream = try SendingStream(
            connection: pair.near, file: pattern.fd, fileSize: pattern.size, method: .sendfile, bufferSize: 0,
            budget: UInt64(budget), endsAt: nil, finish: .shutdownAndAwaitEnd,
            wait: Self.wait(.seconds(1), deadline: .after(.seconds(30))))
        let far = pair.far
        Thread.detachNewThread {
            // 64 KiB every 150 ms: about 3.6 s for the whole budget, with the 1 s stall timeout.
            while let more = try? far.receiveSome(limit: 64 << 10, deadline: .after(.seconds(10))), !more.isEmpty {
                usleep(150_000)
            }
            far.shutdownWrite()
        }
        let started = ContinuousClock.now
        try StreamPump.run([stream])[0].get()
        #expect(stream.sent == UInt64(budget))
        #expect(ContinuousClock.now - started > .seconds(2), "the client read slowly: the wait covered its reading")
    }

    @Test func aServerSenderWaitsForTheClientsEndAndRefusesStrayBytes() throws {
        let pattern = try Pattern(size: 4096)
        // Open until the streams are done: ARC may end a local after its last use.
        defer { withExtendedLifetime(pattern) {} }
        let connections = try Self.pairs(2)
        let streams = try connections.map { pair in
            try SendingStream(
                connection: pair.near, file: pattern.fd, fileSize: pattern.size, method: .splice, bufferSize: 0,
                budget: 10_000, endsAt: nil, finish: .shutdownAndAwaitEnd, wait: Self.wait())
        }
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            // Stream 0's client reads to the end and closes; stream 1's answers with a byte.
            _ = Self.readAll(connections[0].far)
            connections[0].far.shutdownWrite()
            try? connections[1].far.sendAll([9], deadline: .after(.seconds(5)))
            done.signal()
        }
        let results = StreamPump.run([streams[0]])
        try results[0].get()
        #expect(streams[0].sent == 10_000)
        done.wait()
        let stray = StreamPump.run([streams[1]])
        if case .failure(let error) = stray[0], let failure = error as? ServerStream.StreamFailure, case .unexpectedData = failure {
        } else {
            Issue.record("a byte from the client should be refused: \(stray[0])")
        }
    }
}
