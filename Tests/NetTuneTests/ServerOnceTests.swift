import Foundation
import Glibc
import Synchronization
import Testing

@testable import NetTune

/// `nettune serve --once` ends after one completed probe, and a client still
/// connected then — waiting in the queue, or one whose first bytes come late — is
/// told why it will not be served, instead of being sent to a port that is closing.
/// On 127.0.0.1.
@Suite struct ServerOnceTests {
    typealias RunningServer = IperfServerTests.RunningServer

    static let exiting = "the server has served its one probe (serve --once) and is exiting; try again once it is started again"

    func onceServer() throws -> RunningServer {
        try RunningServer(idleTimeout: .seconds(20), headerTimeout: .seconds(20), once: true)
    }

    func request(_ server: RunningServer, queueTimeout: Duration = .zero) throws -> ProbeRequest {
        var request = try IperfServerTests().request(Endpoint(host: "127.0.0.1", port: server.port), direction: .send)
        request.queueTimeout = queueTimeout
        return request
    }

    /// An iperf3 client connects, a nettune probe runs and completes, and only
    /// then does the iperf3 client send its cookie: the server's first reply.
    func lateIperf3ClientsFirstReply(_ server: RunningServer) throws -> UInt8? {
        let late = try TCPConnection.connect(to: Endpoint(host: "127.0.0.1", port: server.port), deadline: .after(.seconds(2)))
        _ = try ProbeClient(try request(server)).run(.sendfile)
        #expect(server.log(count: 1).map(\.outcome) == [.completed])
        try late.sendAll(IperfWire.makeCookie(), deadline: .after(.seconds(2)))
        return try late.receiveSome(limit: 1, deadline: .after(.seconds(5))).first
    }

    @Test func aClientWaitingInTheQueueIsToldTheServerIsExiting() throws {
        let server = try onceServer()
        defer { server.stop() }
        var timed = try request(server)
        timed.duration = .seconds(2)  // long enough for the second to queue meanwhile
        let first = timed
        let second = try request(server, queueTimeout: .seconds(20))
        let secondClient = Mutex<QueuedClient?>(nil)
        // The second joins the queue while the first moves bytes; the first ends
        // after the second has been told its place.
        let run = try ProbeClient(first).run(.sendfile) { shown in
            guard shown.bytes > 0, secondClient.withLock({ $0 == nil }) else { return }
            secondClient.withLock { $0 = QueuedClient(second) }
        }
        #expect(run.result.bytes > 0)
        let queued = try #require(secondClient.withLock { $0 }, "the second client never started")
        #expect(queued.ended(), "refused at once, not after its 20 s wait")
        let refused = try #require(queued.error as? ProbeRefusedError, "\(String(describing: queued.error))")
        #expect(refused.refusal.message == Self.exiting)
        #expect(refused.refusal.status == .failed, "not busy: waiting longer would not help")
        server.waitUntilDone()
        let outcomes = server.log(count: 2).map(\.outcome)
        #expect(outcomes == [.completed, .refused(.failed, Self.exiting)])
    }

    /// An iperf3 client that connected while the probe ran and sends its cookie only
    /// after it: the server that is about to exit denies it, as a busy one does.
    @Test func anIperf3ClientThatSpeaksAfterTheProbeIsDenied() throws {
        let server = try onceServer()
        defer { server.stop() }
        let state = try lateIperf3ClientsFirstReply(server)
        #expect(state == IperfState.accessDenied.byte)
        server.waitUntilDone()
        #expect(server.log(count: 2).last?.outcome == .refused(.failed, Self.exiting))
    }

    /// Without `--once`, the same late client is served: the refusal above is the
    /// option's, not the timing's.
    @Test func withoutOnceTheLateClientIsServed() throws {
        let server = try RunningServer(idleTimeout: .seconds(20), headerTimeout: .seconds(20))
        defer { server.stop() }
        let state = try lateIperf3ClientsFirstReply(server)
        #expect(state == IperfState.parameterExchange.byte)
    }
}
