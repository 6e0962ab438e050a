import Foundation
import SystemPackage
import Testing

@testable import NetTune

/// The client's wait for "go" while a server reads its payload into its page cache
/// ("preparing"): each message renews the wait and is shown as progress; a server
/// that falls silent, reads backwards or refuses ends the run with one clear error.
@Suite struct ServerPreparingTests {
    /// A "server" on loopback that answers a receive request, takes its data
    /// connection and then sends `script`, each message after `gap` (and keeps the
    /// connections until the client gives up).
    final class ScriptedServer: @unchecked Sendable {
        let listener: TCPListener
        private let done = DispatchSemaphore(value: 0)

        init(_ script: [ProbeMessage], gap: Double) throws {
            listener = try TCPListener(host: "127.0.0.1", port: 0)
            let thread = Thread { [self] in
                defer { done.signal() }
                guard let control = try? listener.accept(deadline: .after(.seconds(10))) else { return }
                _ = try? control.receiveSome(limit: 4096, deadline: .after(.seconds(5)))
                let ready = ProbeMessage.ready(session: SessionID.random(), streams: 1, tuning: TuningState())
                try? control.sendAll(ready.encoded(), deadline: .after(.seconds(5)))
                guard let data = try? listener.accept(deadline: .after(.seconds(5))) else { return }
                _ = try? data.receiveSome(limit: 64, deadline: .after(.seconds(5)))
                for message in script {
                    // Pacing the fake server, as a slow disk would; not a wait for a condition.
                    if gap > 0 { Thread.sleep(forTimeInterval: gap) }
                    try? control.sendAll(message.encoded(), deadline: .after(.seconds(5)))
                }
                // Until the client gives up (its end closes the control connection).
                _ = try? control.receiveSome(limit: 64, deadline: .after(.seconds(10)))
                _ = data
            }
            thread.start()
        }

        var endpoint: Endpoint { Endpoint(host: "127.0.0.1", port: listener.port) }
        func wait() { _ = done.wait(timeout: .now() + 15) }
    }

    static func preparing(read: UInt64, of bytes: UInt64 = 64 << 20, resident: UInt64? = 0) -> ProbeMessage {
        .preparing(PreparingMessage(bytes: bytes, resident: resident, read: read))
    }

    /// Runs a one-stream receive probe against `script`; returns the error and the
    /// preparing progress the client showed.
    /// With `onlyWaiting`, the client is given only a listener for the waits (as `apply --probe` does).
    func probe(
        _ script: [ProbeMessage], gap: Double = 0, onlyWaiting: Bool = false
    ) throws -> (error: (any Error)?, shown: [PreparingMessage], seconds: Double) {
        let server = try ScriptedServer(script, gap: gap)
        defer { server.wait() }
        let directory = try TemporaryDirectory()
        let payload = try PayloadFile.cached(size: 1 << 20, directory: FilePath(directory.path))
        let request = ProbeRequest(
            endpoint: server.endpoint, payload: payload, connectTimeout: .seconds(2), replyTimeout: .milliseconds(700),
            stallTimeout: .seconds(2), direction: .receive)
        let shown = ShownProgress()
        let started = ContinuousClock.now
        do {
            let listener: (ProbeProgress) -> Void = { progress in
                if let preparing = progress.serverPreparing { shown.add(preparing) }
            }
            _ = try ProbeClient(request).run(.sendfile, progress: onlyWaiting ? nil : listener, waiting: onlyWaiting ? listener : nil)
            return (nil, shown.all, (ContinuousClock.now - started).seconds)
        } catch {
            return (error, shown.all, (ContinuousClock.now - started).seconds)
        }
    }

    final class ShownProgress: @unchecked Sendable {
        private let lock = NSLock()
        private var messages: [PreparingMessage] = []
        func add(_ message: PreparingMessage) { lock.withLock { messages.append(message) } }
        var all: [PreparingMessage] { lock.withLock { messages } }
    }

    @Test func eachPreparingMessageIsShownAndRenewsTheWaitUntilTheServerFallsSilent() throws {
        // Four messages 0.4 s apart outlast the 0.7 s the client waits for any one answer.
        let outcome = try probe((0..<4).map { Self.preparing(read: UInt64($0) << 20) }, gap: 0.4)
        #expect(outcome.shown.map(\.read) == (0..<4).map { UInt64($0) << 20 })
        let error = try #require(outcome.error as? ProbeFailedError)
        #expect(error.message.contains("waiting for the server to prepare its payload"), "\(error)")
        #expect(outcome.seconds > 1.6 + 0.6 && outcome.seconds < 5, "\(outcome.seconds)")
    }

    @Test func aListenerForTheWaitsAloneHearsThem() throws {
        let outcome = try probe([Self.preparing(read: 0), Self.preparing(read: 1 << 20)], onlyWaiting: true)
        #expect(outcome.shown.map(\.read) == [0, 1 << 20])
    }

    @Test func aServerReadingBackwardsOrAnotherPayloadBreaksTheProtocol() throws {
        for script in [
            [Self.preparing(read: 32 << 20), Self.preparing(read: 1 << 20)],
            [Self.preparing(read: 0), Self.preparing(read: 0, of: 128 << 20)]
        ] {
            let error = try #require(try probe(script).error as? ProbeFailedError)
            #expect(error.message.contains("broke the protocol: its payload went from"), "\(error)")
        }
    }

    @Test func aRefusalWhilePreparingIsTheServersRefusal() throws {
        let refusal = RefusedMessage(status: .failed, message: "the server could not read its payload: gone")
        let error = try #require(try probe([Self.preparing(read: 0), .refused(refusal)]).error as? ProbeRefusedError)
        #expect(error.refusal == refusal)
    }

    @Test func anythingElseBeforeTheStartSignalIsOutOfTurn() throws {
        let error = try #require(try probe([Self.preparing(read: 0), .queued(position: 1, waiting: 1)]).error as? ProbeFailedError)
        #expect(error.message.contains("expected the start signal"), "\(error)")
    }

    /// A real server making its random payload the first time (seconds on a slow
    /// card) says so as it goes, at least every second (a load-tolerant wait of 3 s
    /// between messages here), runs, and reports that nothing of the payload was in
    /// the page cache.
    @Test func aServerMakingItsPayloadTellsTheClientAsItGoes() throws {
        SignalMask.ignoreBrokenPipe()
        let directory = try TemporaryDirectory()
        let size = 512 << 20
        let server = try IperfServerTests.RunningServer(payload: .cache(directory: FilePath(directory.path), size: size))
        defer { server.stop() }
        var request = try IperfServerTests().request(Endpoint(host: "127.0.0.1", port: server.port), direction: .receive)
        request.replyTimeout = .seconds(3)
        let shown = ShownProgress()
        let started = ContinuousClock.now
        let run = try ProbeClient(request).run(
            .sendfile, limit: 1 << 20, progress: { if let preparing = $0.serverPreparing { shown.add(preparing) } })
        let seconds = (ContinuousClock.now - started).seconds
        let told = shown.all
        #expect(told.first?.resident == 0, "it did not exist")
        #expect(told.last?.read == UInt64(size))
        #expect(told.map(\.read) == told.map(\.read).sorted())
        #expect(Double(told.count) >= seconds - 1, "at least one a second: \(told.count) in \(seconds) s")
        let cache = try #require(run.peerPayloadCache)
        #expect(cache.residentBefore == 0)
        #expect(server.log(count: 1).first.map { $0.payloadReadSeconds > 0 } == true)
    }
}
