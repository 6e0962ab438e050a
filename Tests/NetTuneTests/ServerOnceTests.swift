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

    @Test func aClientWaitingInTheQueueIsToldTheServerIsExiting() throws {
        let server = try onceServer()
        defer { server.stop() }
        var timed = try request(server)
        timed.duration = .seconds(2)  // long enough for the second to queue meanwhile
        let first = timed
        let second = try request(server, queueTimeout: .seconds(20))
        let queued = DispatchSemaphore(value: 0)
        let secondError = Mutex<(any Error)?>(nil)
        let secondDone = DispatchSemaphore(value: 0)
        let started = Atomic<Bool>(false)
        let run = try ProbeClient(first).run(.sendfile) { shown in
            // The second joins the queue while the first moves bytes; the first ends
            // once the second has been told its place.
            guard shown.bytes > 0, !started.exchange(true, ordering: .relaxed) else { return }
            Thread.detachNewThread {
                do {
                    _ = try ProbeClient(second).run(.sendfile, waiting: { if $0.queuePosition != nil { queued.signal() } })
                } catch {
                    secondError.withLock { $0 = error }
                }
                secondDone.signal()
            }
            _ = queued.wait(timeout: .now() + 10)
        }
        #expect(run.result.bytes > 0)
        let secondStarted = started.load(ordering: .relaxed)
        #expect(secondStarted)
        #expect(secondDone.wait(timeout: .now() + 10) == .success, "refused at once, not after its 20 s wait")
        let refused = try #require(secondError.withLock { $0 } as? ProbeRefusedError, "\(String(describing: secondError.withLock { $0 }))")
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
        let late = try TCPConnection.connect(to: Endpoint(host: "127.0.0.1", port: server.port), deadline: .after(.seconds(2)))
        _ = try ProbeClient(try request(server)).run(.sendfile)
        #expect(server.log(count: 1).map(\.outcome) == [.completed])
        try late.sendAll(IperfWire.makeCookie(), deadline: .after(.seconds(2)))
        let state = try late.receiveSome(limit: 1, deadline: .after(.seconds(5))).first
        #expect(state == IperfState.accessDenied.byte)
        server.waitUntilDone()
        #expect(server.log(count: 2).last?.outcome == .refused(.failed, Self.exiting))
    }

    /// Without `--once`, the same late client is served: the refusal above is the
    /// option's, not the timing's.
    @Test func withoutOnceTheLateClientIsServed() throws {
        let server = try RunningServer(idleTimeout: .seconds(20), headerTimeout: .seconds(20))
        defer { server.stop() }
        let late = try TCPConnection.connect(to: Endpoint(host: "127.0.0.1", port: server.port), deadline: .after(.seconds(2)))
        _ = try ProbeClient(try request(server)).run(.sendfile)
        #expect(server.log(count: 1).map(\.outcome) == [.completed])
        try late.sendAll(IperfWire.makeCookie(), deadline: .after(.seconds(2)))
        let state = try late.receiveSome(limit: 1, deadline: .after(.seconds(5))).first
        #expect(state == IperfState.parameterExchange.byte)
    }
}
