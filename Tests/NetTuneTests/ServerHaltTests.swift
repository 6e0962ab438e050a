import Foundation
import Glibc
import Synchronization
import SystemPackage
import Testing

@testable import NetTune

/// `nettune serve` stopped by a signal (`ProbeServer.halt`, as SIGTERM does): at
/// every step a client can be in — a transfer, the queue, the wait for its data
/// connections, an iperf3 test, a connection that has said nothing — the client is
/// told the server stopped, each gets its log line, and the server is gone within
/// seconds, its port closed. On 127.0.0.1.
@Suite struct ServerHaltTests {
    typealias RunningServer = IperfServerTests.RunningServer

    /// A stopped server closes streams under a running sendfile, which raises
    /// SIGPIPE (nettune's entry point ignores it).
    init() { SignalMask.ignoreBrokenPipe() }

    /// A server whose waits are long, so that only the halt can end them soon.
    func patientServer() throws -> RunningServer {
        try RunningServer(idleTimeout: .seconds(20), headerTimeout: .seconds(20))
    }

    func nettune(_ server: RunningServer) -> Endpoint { Endpoint(host: "127.0.0.1", port: server.port) }

    func timedRequest(_ endpoint: Endpoint, direction: ProbeDirection, streams: Int = 1) throws -> ProbeRequest {
        var request = try IperfServerTests().request(endpoint, direction: direction, streams: streams)
        request.duration = .seconds(20)
        request.stallTimeout = .seconds(20)
        return request
    }

    /// Halts `server` once `client` has moved bytes; returns the client's error and
    /// how long the server took to return after the halt.
    func haltDuringTransfer(
        _ server: RunningServer, client: (@escaping (ProbeProgress) -> Void) throws -> Void
    ) -> (error: (any Error)?, secondsToStop: Double) {
        let halted = Mutex<ContinuousClock.Instant?>(nil)
        var failure: (any Error)?
        do {
            try client { progress in
                guard progress.bytes > 0 else { return }
                halted.withLock { instant in
                    if instant == nil {
                        instant = .now
                        server.server.halt(SIGTERM)
                    }
                }
            }
        } catch {
            failure = error
        }
        server.waitUntilDone()
        let stoppedAfter = halted.withLock { $0 }.map { (ContinuousClock.now - $0).seconds } ?? .infinity
        return (failure, stoppedAfter)
    }

    @Test(arguments: [(ProbeDirection.send, 1), (.receive, 1), (.both, 2)])
    func aProbeUnderWayIsToldTheServerStoppedAndLogged(direction: ProbeDirection, streams: Int) throws {
        let server = try patientServer()
        defer { server.stop() }
        let request = try timedRequest(nettune(server), direction: direction, streams: streams)
        let (error, seconds) = haltDuringTransfer(server) { progress in
            _ = try ProbeClient(request).run(.sendfile, progress: progress)
        }
        let failed = try #require(error as? ProbeFailedError, "\(String(describing: error))")
        #expect(failed.message == "the server says: the server was stopped (SIGTERM) during the transfer; try again when it is back")
        #expect(seconds < 3, "a 20 s probe and 20 s timeouts: only the halt ends it")
        let events = server.log(count: 1)
        #expect(events.count == 1)
        #expect(events.first?.outcome == .failed("the server was stopped (SIGTERM) during the transfer"))
        #expect((events.first.map { $0.bytesReceived + $0.bytesSent } ?? 0) > 0, "how far it got")
        #expect(server.server.haltedBy == SIGTERM)
    }

    @Test func aClientInTheQueueIsToldAndTheOneMeasuredToo() throws {
        let server = try patientServer()
        defer { server.stop() }
        let first = try timedRequest(nettune(server), direction: .send)
        var waiting = try timedRequest(nettune(server), direction: .send)
        waiting.queueTimeout = .seconds(20)
        let second = waiting
        let secondClient = Mutex<QueuedClient?>(nil)
        let halted = Mutex<ContinuousClock.Instant?>(nil)
        var firstError: (any Error)?
        do {
            _ = try ProbeClient(first).run(.sendfile) { shown in
                // Once the first moves bytes, a second client joins the queue; the halt
                // comes once it has been told its place.
                guard shown.bytes > 0, secondClient.withLock({ $0 == nil }) else { return }
                secondClient.withLock { $0 = QueuedClient(second) }
                halted.withLock { $0 = .now }
                server.server.halt(SIGTERM)
            }
        } catch {
            firstError = error
        }
        server.waitUntilDone()
        let seconds = try #require(halted.withLock { $0 }.map { (ContinuousClock.now - $0).seconds })
        let queued = try #require(secondClient.withLock { $0 })
        _ = queued.ended()
        #expect(
            (firstError as? ProbeFailedError)?.message.contains("stopped (SIGTERM) during the transfer") == true, "\(String(describing: firstError))")
        let refused = try #require(queued.error as? ProbeRefusedError, "\(String(describing: queued.error))")
        #expect(refused.refusal.message == "the server was stopped (SIGTERM); try again when it is back")
        #expect(seconds < 3)
        let outcomes = server.log(count: 2).map(\.outcome)
        #expect(outcomes.contains(.failed("the server was stopped (SIGTERM) during the transfer")))
        #expect(outcomes.contains(.failed("the server was stopped (SIGTERM) while the client waited in the queue")))
    }

    /// A client's control connection once the server has said "ready" to its request
    /// for one data connection, which it has not opened.
    func announceOneDataConnection(to server: RunningServer) throws -> (TCPConnection, MessageReader) {
        let control = try TCPConnection.connect(to: nettune(server), deadline: .after(.seconds(2)))
        let reader = MessageReader(connection: control, endpoint: nettune(server), peerIsServer: true)
        let request = ProbeRequestMessage(
            direction: .send, method: .sendfile, streams: 1, length: 1 << 20, duration: nil, queueWait: .zero, token: [],
            software: "test")
        try control.sendAll(ProbeMessage.request(request).encoded(), deadline: .after(.seconds(2)))
        let reply = try reader.next(deadline: .after(.seconds(5)), waiting: "ready")
        guard case .ready = reply else { throw ProbeWireError.malformed("\(reply) instead of ready") }
        return (control, reader)
    }

    /// A transfer whose streams all ended well is still no result when the client
    /// has gone, or when a timed probe's streams ended long before its time (a client
    /// killed mid-run closes them as a finished one does).
    @Test func aTransferEndedByAClientThatWentAwayIsNoResult() {
        func outcome(_ seconds: Double) -> ServerSession.Outcome {
            ServerSession.Outcome(
                reports: [], received: 1, sent: 0, seconds: seconds,
                cpu: CPUUsage(userSeconds: 0, systemSeconds: 0, hostBusySeconds: nil, hostSoftirqSeconds: nil, hostTotalSeconds: nil))
        }
        #expect(
            ServerSession.endedEarly(outcome(0.5), asked: .seconds(20), clientGone: false)
                == "the client ended its streams after 0.5 s of the 20.0 s it asked for (stopped?)")
        #expect(ServerSession.endedEarly(outcome(1.96), asked: .seconds(2), clientGone: false) == nil)
        #expect(ServerSession.endedEarly(outcome(1.7), asked: .seconds(2), clientGone: false) == nil)
        #expect(ServerSession.endedEarly(outcome(0.01), asked: nil, clientGone: false) == nil)
        #expect(ServerSession.endedEarly(outcome(2), asked: .seconds(2), clientGone: true) == "the client went away during the transfer")
    }

    /// A client that announced a data connection and never opened it: the server,
    /// waiting for it, is stopped and says so.
    @Test func aClientWhoseDataConnectionsTheServerAwaitsIsTold() throws {
        let server = try patientServer()
        defer { server.stop() }
        // The reader keeps the connection open.
        let (_, reader) = try announceOneDataConnection(to: server)
        let halted = ContinuousClock.now
        server.server.halt(SIGTERM)
        let reply = try reader.next(deadline: .after(.seconds(5)), waiting: "the refusal")
        #expect(reply == .refused(RefusedMessage(status: .failed, message: "the server was stopped (SIGTERM); try again when it is back")))
        server.waitUntilDone()
        #expect((ContinuousClock.now - halted).seconds < 3)
        #expect(server.log(count: 1).first?.outcome == .failed("the server was stopped (SIGTERM) before the transfer"))
    }

    /// A client that hangs up while the server awaits its data connections is let go
    /// at once, not after the idle timeout, and the next is served.
    @Test func aClientThatHangsUpBeforeItsDataConnectionsIsLetGoAtOnce() throws {
        let server = try patientServer()
        defer { server.stop() }
        let (control, _) = try announceOneDataConnection(to: server)
        let left = ContinuousClock.now
        control.shutdownWrite()
        #expect(server.log(count: 1).first?.outcome == .failed("the client hung up after opening 0 of the 1 data connections it announced"))
        #expect((ContinuousClock.now - left).seconds < 2)
        let run = try ProbeClient(try IperfServerTests().request(nettune(server), direction: .send)).run(.sendfile)
        #expect(run.result.bytes == 4 << 20)
    }

    /// Stopped while it makes its random payload for a receiving client (a slow card
    /// takes seconds): the making ends, its temporary goes, the client is told.
    @Test func theMakingOfThePayloadEndsAndLeavesNothing() throws {
        let directory = try TemporaryDirectory()
        let server = try RunningServer(
            idleTimeout: .seconds(20), headerTimeout: .seconds(20), payload: .cache(directory: FilePath(directory.path), size: 4 << 30))
        defer { server.stop() }
        let request = try timedRequest(nettune(server), direction: .receive)
        let clientError = Mutex<(any Error)?>(nil)
        let clientDone = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            do { _ = try ProbeClient(request).run(.sendfile) } catch { clientError.withLock { $0 = error } }
            clientDone.signal()
        }
        // Halted once the server has begun writing its payload's temporary.
        let begun = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < begun, (try? FileManager.default.contentsOfDirectory(atPath: directory.path))?.isEmpty != false {
            Thread.sleep(forTimeInterval: 0.01)
        }
        let halted = ContinuousClock.now
        server.server.halt(SIGTERM)
        server.waitUntilDone()
        #expect((ContinuousClock.now - halted).seconds < 3, "4 GiB to make (about 25 s here): only the halt ends it")
        _ = clientDone.wait(timeout: .now() + 10)
        let refused = try #require(clientError.withLock { $0 } as? ProbeRefusedError)
        #expect(refused.refusal.message == "the server was stopped (SIGTERM); try again when it is back")
        #expect(server.log(count: 1).first?.outcome == .failed("the server was stopped (SIGTERM) before the transfer"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
    }

    @Test(arguments: [ProbeDirection.send, .receive])
    func anIperf3TestIsToldServerTerminateAsIperf3Does(direction: ProbeDirection) throws {
        let server = try patientServer()
        defer { server.stop() }
        var request = try IperfServerTests().request(server.endpoint, direction: direction)
        request.duration = .seconds(20)
        request.stallTimeout = .seconds(20)
        let (error, seconds) = haltDuringTransfer(server) { progress in
            _ = try IperfClient(request).run(.sendfile, progress: progress)
        }
        let peer = try #require(error as? IperfPeerError, "\(String(describing: error))")
        #expect(peer.problem == .terminated)
        #expect(seconds < 3)
        let event = try #require(server.log(count: 1).first)
        #expect(event.peerProtocol == .iperf3)
        #expect(event.outcome == .failed("the server was stopped (SIGTERM) during the test"))
        #expect(event.bytesReceived + event.bytesSent > 0, "how far it got")
    }

    /// A connection that has not said what it is does not hold the server for its
    /// header timeout; once stopped, the port is closed.
    @Test func anUnspokenConnectionIsLoggedAndThePortCloses() throws {
        let server = try patientServer()
        defer { server.stop() }
        let silent = try TCPConnection.connect(to: nettune(server), deadline: .after(.seconds(2)))
        // A probe connected after it and completed: the server has accepted both
        // (it accepts in order), so the silent one's handler is waiting for its header.
        _ = try ProbeClient(try IperfServerTests().request(nettune(server), direction: .send)).run(.sendfile)
        let halted = ContinuousClock.now
        server.server.halt(SIGINT)
        server.waitUntilDone()
        #expect((ContinuousClock.now - halted).seconds < 3, "a 20 s header timeout: only the halt ends it")
        let outcomes = server.log(count: 2).map(\.outcome)
        #expect(outcomes.contains(.completed))
        #expect(outcomes.contains(.failed("the server was stopped (SIGINT) before the client's request")))
        #expect(try silent.receiveSome(limit: 16, deadline: .after(.seconds(2))).isEmpty, "closed, not left open")
        #expect(throws: (any Error).self) {
            _ = try TCPConnection.connect(to: nettune(server), deadline: .after(.seconds(2)))
        }
    }
}
