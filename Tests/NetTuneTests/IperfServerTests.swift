import Foundation
import Synchronization
import SystemPackage
import Testing

@testable import NetTune

/// `nettune serve` answering iperf3 clients, on 127.0.0.1: scripted clients that
/// break the protocol at every step, and nettune's own iperf3 client for the
/// whole exchange. After every fault the server goes on serving.
@Suite struct IperfServerTests {
    /// A server on an ephemeral port for the length of a test.
    final class RunningServer: @unchecked Sendable {
        let server: ProbeServer
        let events = Mutex<[ProbeServer.Event]>([])
        private let done = DispatchSemaphore(value: 0)

        init(
            token: [UInt8]? = nil, maxStreams: Int = 8, idleTimeout: Duration = .seconds(1), headerTimeout: Duration = .seconds(1),
            payload: ServerPayload? = nil, port: UInt16 = 0, once: Bool = false,
            tuning: @escaping @Sendable (String?) -> TuningState = { _ in TuningState() },
            congestionControls: @escaping @Sendable () -> [String] = { ServerCongestion.available() },
            connectionLimits: (total: Int, perAddress: Int) = (1024, 320)
        ) throws {
            let cache = FileManager.default.temporaryDirectory.appendingPathComponent("nettune-iperf-server-tests-\(getpid())").path
            let payload = payload ?? .cache(directory: FilePath(cache), size: 1 << 20)
            var configuration = ProbeServer.Configuration(
                bind: "127.0.0.1", port: port, idleTimeout: idleTimeout, headerTimeout: headerTimeout, token: token,
                once: once, maxStreams: maxStreams, payload: payload, tuning: tuning,
                congestionControls: congestionControls)
            configuration.connectionLimits = connectionLimits
            server = try ProbeServer(configuration)
            Thread.detachNewThread { [self] in
                try? server.run { event in self.events.withLock { $0.append(event) } }
                done.signal()
            }
        }

        var port: UInt16 { server.address.port }
        var endpoint: Endpoint { Endpoint(host: "127.0.0.1", port: port, peerProtocol: .iperf3) }

        /// The log once `count` events are in (or 5 s passed).
        func log(count: Int) -> [ProbeServer.Event] {
            let end = ContinuousClock.now + .seconds(5)
            while ContinuousClock.now < end {
                let all = events.withLock { $0 }
                if all.count >= count { return all }
                Thread.sleep(forTimeInterval: 0.01)
            }
            return events.withLock { $0 }
        }

        func stop() {
            server.stop()
            _ = done.wait(timeout: .now() + 10)
        }

        /// Waits (at most 10 s) until `run` has returned, as after a halt.
        func waitUntilDone() {
            // Given back, so a later `stop` finds it done too.
            if done.wait(timeout: .now() + 10) == .success { done.signal() }
        }
    }

    /// A hand-driven iperf3 client.
    struct ScriptedClient {
        let control: TCPConnection
        let cookie = IperfWire.makeCookie()
        let port: UInt16

        init(port: UInt16) throws {
            self.port = port
            control = try TCPConnection.connect(to: Endpoint(host: "127.0.0.1", port: port), deadline: .after(.seconds(2)))
            try control.sendAll(cookie, deadline: .after(.seconds(2)))
        }

        func state() throws -> Int8? {
            let byte = try control.receiveSome(limit: 1, deadline: .after(.seconds(5)))
            return byte.first.map { Int8(bitPattern: $0) }
        }

        func serverError() throws -> Int32? {
            guard try state() == IperfState.serverError.rawValue else { return nil }
            var bytes: [UInt8] = []
            while bytes.count < 8 { bytes += try control.receiveSome(limit: 8 - bytes.count, deadline: .after(.seconds(2))) }
            return Int32(bitPattern: bytes[0..<4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
        }

        func sendParameters(_ json: String) throws {
            let body = Array(json.utf8)
            let length = UInt32(body.count)
            try control.sendAll(
                [UInt8(length >> 24), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff)] + body,
                deadline: .after(.seconds(2)))
        }

        func openStream() throws -> TCPConnection {
            let stream = try TCPConnection.connect(to: Endpoint(host: "127.0.0.1", port: port), deadline: .after(.seconds(2)))
            try stream.sendAll(cookie, deadline: .after(.seconds(2)))
            return stream
        }
    }

    func request(_ endpoint: Endpoint, direction: ProbeDirection, streams: Int = 1, congestion: String? = nil) throws -> ProbeRequest {
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("nettune-iperf-server-tests-\(getpid())").path
        return ProbeRequest(
            endpoint: endpoint, payload: try PayloadFile.cached(size: 4 << 20, directory: FilePath(cache)),
            congestion: congestion, connectTimeout: .seconds(2), replyTimeout: .seconds(3), stallTimeout: .seconds(3),
            direction: direction, streams: streams)
    }

    // MARK: The whole exchange, nettune's iperf3 client against nettune's server

    @Test(arguments: [(ProbeDirection.send, 1), (.receive, 1), (.both, 2), (.send, 3)])
    func nettunesIperf3ClientAndServerAgree(direction: ProbeDirection, streams: Int) throws {
        let server = try RunningServer()
        defer { server.stop() }
        let run = try IperfClient(try request(server.endpoint, direction: direction, streams: streams)).run(.sendfile)
        let event = try #require(server.log(count: 1).first)
        #expect(event.outcome == .completed)
        #expect(event.peerProtocol == .iperf3)
        #expect(event.direction == direction)
        #expect(event.streams == streams)
        for result in run.results {
            #expect(result.bytes == 4 << 20)
            #expect(result.streams.count == streams)
            #expect(result.tcpInfoFrom == (result.direction == .send ? .local : .unavailable))
        }
        #expect(event.bytesReceived == (direction == .receive ? 0 : 4 << 20))
        #expect(event.bytesSent == (direction == .send ? 0 : 4 << 20))
    }

    // MARK: Faults, each followed by a test that works

    /// - Parameter logged: clients the server must have finished with first: a
    ///   refused client's session may still hold the server for a moment after the
    ///   client read its refusal, and the next client would be told "busy".
    func expectServesAfterwards(_ server: RunningServer, logged: Int = 0) throws {
        if logged > 0 { #expect(server.log(count: logged).count >= logged) }
        let run = try IperfClient(try request(server.endpoint, direction: .send)).run(.sendfile)
        #expect(run.result.bytes == 4 << 20)
    }

    @Test func absurdParameterLengthsAndBadJSONAreServerErrors() throws {
        let server = try RunningServer()
        defer { server.stop() }
        for (bytes, count) in [([0xff, 0xff, 0xff, 0xff] as [UInt8], 1), (Array("\u{0}\u{0}\u{0}\u{5}{nope".utf8), 2)] {
            let client = try ScriptedClient(port: server.port)
            #expect(try client.state() == IperfState.parameterExchange.rawValue)
            try client.control.sendAll(bytes, deadline: .after(.seconds(1)))
            #expect(try client.serverError() == 114)
            guard case .refused(.badRequest, _)? = server.log(count: count).last?.outcome else {
                Issue.record("\(server.log(count: count))")
                return
            }
        }
        try expectServesAfterwards(server)
    }

    @Test func udpIsNotImplemented() throws {
        let server = try RunningServer()
        defer { server.stop() }
        let cases = [#"{"udp":true,"time":1,"parallel":1}"#, #"{"sctp":true,"time":1,"parallel":1}"#]
        for json in cases {
            let client = try ScriptedClient(port: server.port)
            #expect(try client.state() == IperfState.parameterExchange.rawValue)
            try client.sendParameters(json)
            #expect(try client.serverError() == IperfErrorCode.unimplemented, "\(json)")
        }
        try expectServesAfterwards(server, logged: cases.count)
    }

    @Test func limitsAreServerErrorsWithIperfsCodes() throws {
        let server = try RunningServer(maxStreams: 2)
        defer { server.stop() }
        let cases = [
            (#"{"tcp":true,"time":1,"parallel":3}"#, IperfErrorCode.streams),
            (#"{"tcp":true,"time":86400,"parallel":1}"#, IperfErrorCode.duration),
            (#"{"tcp":true,"num":1125899906842624,"parallel":1}"#, IperfErrorCode.duration),
            // -k blocks of -l bytes are a size like -n, held to the same limit (here 122 GiB).
            (#"{"tcp":true,"blockcount":1000000,"len":131072,"parallel":1}"#, IperfErrorCode.duration),
            // 10 MB held to 100 kbit/s (-b) is 800 s, past the 10 min limit.
            (#"{"tcp":true,"num":10000000,"bandwidth":100000,"parallel":1}"#, IperfErrorCode.duration)
        ]
        for (json, code) in cases {
            let client = try ScriptedClient(port: server.port)
            #expect(try client.state() == IperfState.parameterExchange.rawValue)
            try client.sendParameters(json)
            #expect(try client.serverError() == code, "\(json)")
        }
        try expectServesAfterwards(server, logged: cases.count)
    }

    @Test func aClientThatOpensTooFewStreamsIsDroppedInTime() throws {
        let server = try RunningServer()
        defer { server.stop() }
        let client = try ScriptedClient(port: server.port)
        #expect(try client.state() == IperfState.parameterExchange.rawValue)
        try client.sendParameters(#"{"tcp":true,"time":1,"parallel":2}"#)
        #expect(try client.state() == IperfState.createStreams.rawValue)
        let one = try client.openStream()
        #expect(try client.serverError() == 204)
        _ = one
        try expectServesAfterwards(server, logged: 1)
    }

    /// The listener takes SO_REUSEPORT (to open a fresh one beside it before each
    /// probe), which would let a second server join the port and take half of its
    /// clients: a second server on a port in use is refused, and the first goes on.
    @Test func aSecondServerOnThePortIsRefused() throws {
        let server = try RunningServer()
        defer { server.stop() }
        let error = #expect(throws: ListenError.self) { try RunningServer(port: server.port) }
        #expect(error?.errno == .addressInUse)
        #expect(error?.description.contains("the port is in use") == true)
        try expectServesAfterwards(server)
    }

    /// iperf3 3.12 gives up when it cannot set up a stream (`-L` on IPv4): it says
    /// IPERF_DONE and hangs up. The server, waiting for its data connections, lets
    /// it go at once — as iperf3's own server does — not after its idle timeout.
    @Test func aClientThatGivesUpBeforeItsStreamsIsLetGoAtOnce() throws {
        let server = try RunningServer(idleTimeout: .seconds(20))
        defer { server.stop() }
        for goodbye in [[UInt8(16)], []] {
            let client = try ScriptedClient(port: server.port)
            #expect(try client.state() == IperfState.parameterExchange.rawValue)
            try client.sendParameters(#"{"tcp":true,"time":1,"parallel":2}"#)
            #expect(try client.state() == IperfState.createStreams.rawValue)
            let left = ContinuousClock.now
            if !goodbye.isEmpty { try client.control.sendAll(goodbye, deadline: .after(.seconds(1))) }
            client.control.shutdownWrite()
            let events = server.log(count: goodbye.isEmpty ? 2 : 1)
            #expect((ContinuousClock.now - left).seconds < 2)
            #expect(events.last?.outcome == .failed("the client hung up after opening 0 of the 2 data connections it announced"))
        }
        try expectServesAfterwards(server)
    }

    /// How long a test may take: its time, or its bytes at 1 Mbit/s, or at its -b
    /// rate (per stream) when slower.
    @Test func aTestsLongestTimeFollowsItsBoundAndItsRate() {
        #expect(IperfServerSession.longest(IperfParameters(seconds: 5, omitSeconds: 2)) == .seconds(7))
        #expect(IperfServerSession.longest(IperfParameters(seconds: 0, bytes: 1_000_000)) == .seconds(8))
        #expect(IperfServerSession.longest(IperfParameters(seconds: 0, bytes: 1_000_000, streams: 2, bandwidth: 100_000)) == .seconds(40))
        #expect(IperfServerSession.longest(IperfParameters(seconds: 0, bytes: 1_000_000, bandwidth: 10_000_000)) == .seconds(8))
    }

    @Test func aSilentClientIsDroppedInTime() throws {
        let server = try RunningServer()
        defer { server.stop() }
        let client = try ScriptedClient(port: server.port)
        #expect(try client.state() == IperfState.parameterExchange.rawValue)
        try client.sendParameters(#"{"tcp":true,"time":1,"parallel":1}"#)
        #expect(try client.state() == IperfState.createStreams.rawValue)
        let stream = try client.openStream()
        #expect(try client.state() == IperfState.testStart.rawValue)
        #expect(try client.state() == IperfState.testRunning.rawValue)
        // Silence: its stream stalls after the idle timeout (1 s), or its TEST_END
        // fails to come after the test's time: either way the server gives up.
        let event = try #require(server.log(count: 1).first)
        guard case .failed(let why) = event.outcome else {
            Issue.record("\(event)")
            return
        }
        #expect(why.contains("stalled") || why.contains("no TEST_END"), "\(why)")
        _ = stream
        try expectServesAfterwards(server)
    }

    @Test func aSecondClientDuringATestIsToldBusyAndAStrangeStreamIsDenied() throws {
        let server = try RunningServer(idleTimeout: .seconds(3))
        defer { server.stop() }
        let first = try ScriptedClient(port: server.port)
        #expect(try first.state() == IperfState.parameterExchange.rawValue)
        try first.sendParameters(#"{"tcp":true,"time":2,"parallel":1}"#)
        #expect(try first.state() == IperfState.createStreams.rawValue)
        let stream = try first.openStream()
        #expect(try first.state() == IperfState.testStart.rawValue)
        // Another iperf3 client: ACCESS_DENIED, as iperf3 says it.
        let second = try ScriptedClient(port: server.port)
        #expect(try second.state() == IperfState.accessDenied.rawValue)
        // A stream beyond the one announced, with the right cookie: denied too.
        let extra = try first.openStream()
        #expect(try extra.receiveSome(limit: 1, deadline: .after(.seconds(2))).first == IperfState.accessDenied.byte)
        _ = stream
    }

    @Test func aTokenServerDeniesIperf3Clients() throws {
        let server = try RunningServer(token: Array("secret".utf8))
        defer { server.stop() }
        let client = try ScriptedClient(port: server.port)
        #expect(try client.state() == IperfState.accessDenied.rawValue)
        guard case .refused(.unauthorized, _)? = server.log(count: 1).first?.outcome else {
            Issue.record("\(server.log(count: 1))")
            return
        }
    }
}
