import Foundation
import Synchronization
import SystemPackage
import Testing

@testable import NetTune

/// `probe iperf3://` against a scripted fake iperf3 server on 127.0.0.1: every
/// state the client meets, in and out of turn, and every malformed message.
@Suite struct IperfClientTests {
    /// A client that abandons a test shuts its sending sockets under a running
    /// sendfile, which raises SIGPIPE (nettune's entry point ignores it).
    init() { SignalMask.ignoreBrokenPipe() }

    /// The far end of a control connection, for a script to drive.
    final class FakeServer: @unchecked Sendable {
        let listener: TCPListener
        private(set) var control: TCPConnection?
        private(set) var cookie: [UInt8] = []
        private(set) var parameters: IperfParameters?
        private(set) var streams: [TCPConnection] = []
        private let done = DispatchSemaphore(value: 0)

        init(_ script: @escaping @Sendable (FakeServer) throws -> Void) throws {
            listener = try TCPListener(host: "127.0.0.1", port: 0)
            Thread.detachNewThread { [self] in
                defer { done.signal() }
                guard let control = try? listener.accept(deadline: .after(.seconds(5))) else { return }
                self.control = control
                cookie = (try? read(IperfWire.cookieSize)) ?? []
                try? script(self)
            }
        }

        var endpoint: Endpoint { Endpoint(host: "127.0.0.1", port: listener.port, peerProtocol: .iperf3) }

        func send(_ bytes: [UInt8]) throws { try control?.sendAll(bytes, deadline: .after(.seconds(2))) }
        func send(_ state: IperfState) throws { try send([state.byte]) }

        func read(_ count: Int) throws -> [UInt8] {
            var bytes: [UInt8] = []
            while bytes.count < count {
                guard let more = try control?.receiveSome(limit: count - bytes.count, deadline: .after(.seconds(5))), !more.isEmpty else { break }
                bytes += more
            }
            return bytes
        }

        /// PARAM_EXCHANGE and the client's parameters.
        func exchangeParameters() throws {
            try send(.parameterExchange)
            let length = IperfWire.frameLength(try read(4)[...])
            parameters = try IperfParameters(json: try read(length))
        }

        /// CREATE_STREAMS and every data connection, each with the cookie.
        func acceptStreams() throws {
            try send(.createStreams)
            for _ in 0..<(parameters?.connections ?? 1) {
                guard let stream = try listener.accept(deadline: .after(.seconds(5))) else { return }
                var got: [UInt8] = []
                while got.count < IperfWire.cookieSize {
                    got += try stream.receiveSome(limit: IperfWire.cookieSize - got.count, deadline: .after(.seconds(5)))
                }
                precondition(got == cookie)
                streams.append(stream)
            }
        }

        /// Reads what the client sends until TEST_END, counting it.
        func runUntilTestEnd() throws -> UInt64 {
            try send(.testStart)
            try send(.testRunning)
            var total: UInt64 = 0
            let fds = streams.map(\.fd) + [control?.fd ?? -1]
            while true {
                let ready = try Deadline.after(.seconds(5)).waitReadable(fds)
                if ready.isEmpty { break }
                for index in ready where index < streams.count {
                    total += UInt64((try? streams[index].receiveSome(limit: 1 << 20, deadline: .after(.seconds(1))).count) ?? 0)
                }
                if ready.contains(fds.count - 1) {
                    guard try read(1).first == IperfState.testEnd.byte else { break }
                    // The client waits for every byte's acknowledgement before TEST_END:
                    // all of it is in the receive buffers now.
                    while let more = try? Deadline.after(.zero).waitReadable(streams.map(\.fd)), !more.isEmpty {
                        var got = 0
                        for index in more {
                            let n = (try? streams[index].receiveSome(limit: 1 << 20, deadline: .after(.seconds(1))).count) ?? 0
                            total += UInt64(n)
                            got += n
                        }
                        if got == 0 { break }
                    }
                    return total
                }
            }
            return total
        }

        /// EXCHANGE_RESULTS, the client's results, then `reply` as the server's.
        func exchangeResults(_ reply: [UInt8]) throws {
            try send(.exchangeResults)
            let length = IperfWire.frameLength(try read(4)[...])
            _ = try read(length)
            try send(reply)
        }

        func wait() { _ = done.wait(timeout: .now() + 10) }
    }

    func request(_ endpoint: Endpoint, direction: ProbeDirection = .send, bytes: Int = 1 << 20) throws -> ProbeRequest {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nettune-iperf-tests-\(getpid())").path
        let payload = try PayloadFile.cached(size: bytes, directory: FilePath(directory))
        return ProbeRequest(
            endpoint: endpoint, payload: payload, connectTimeout: .seconds(2), replyTimeout: .milliseconds(800),
            stallTimeout: .seconds(2), direction: direction)
    }

    func run(_ server: FakeServer, direction: ProbeDirection = .send) throws -> ProbeRun {
        defer { server.wait() }
        return try IperfClient(try request(server.endpoint, direction: direction)).run(.sendfile)
    }

    func problem(_ body: @escaping @Sendable (FakeServer) throws -> Void, direction: ProbeDirection = .send) throws -> IperfPeerError.Problem? {
        let server = try FakeServer(body)
        do {
            _ = try run(server, direction: direction)
            return nil
        } catch let error as IperfPeerError {
            return error.problem
        }
    }

    static func results(_ streams: [(id: Int, bytes: UInt64)], cpu: Double = 5) throws -> [UInt8] {
        try IperfResults(
            cpuTotal: cpu, cpuUser: 1, cpuSystem: cpu - 1, senderHasRetransmits: -1, congestion: "cubic",
            streams: streams.map { IperfResults.Stream(id: $0.id, bytes: $0.bytes, retransmits: -1, endTime: 0.5) }
        ).encoded()
    }

    // MARK: The whole exchange

    @Test func aForwardTestTakesTheServersCountAndCPU() throws {
        let server = try FakeServer { server in
            try server.exchangeParameters()
            try server.acceptStreams()
            let received = try server.runUntilTestEnd()
            try server.exchangeResults(try Self.results([(1, received)]))
            try server.send(.displayResults)
            _ = try server.read(1)  // IPERF_DONE
        }
        let run = try run(server)
        #expect(server.parameters?.bytes == 1 << 20)
        #expect(server.parameters?.reverse == false)
        #expect(server.parameters?.clientVersion?.hasPrefix("nettune") == true)
        #expect(IperfWire.isCookie(server.cookie))
        let result = run.result
        #expect(result.bytes == 1 << 20)
        #expect(result.tcpInfoFrom == .local)
        #expect(result.receiver.hostBusySeconds == nil)
        #expect(run.remote == nil)
    }

    /// A timed reverse run ends when this machine says TEST_END; its receiving
    /// streams never end by themselves. The loop beside them wakes only every
    /// 250 ms when nothing is shown, so it must wake at the run's end as well: a
    /// 0.3 s run told at the next tick would last 0.5 s.
    @Test func aTimedReceiveRunIsToldToEndAtItsEndNotAtTheNextTick() throws {
        let toldAfter = Mutex<Duration?>(nil)
        let server = try FakeServer { server in
            try server.exchangeParameters()
            try server.acceptStreams()
            try server.send(.testStart)
            try server.send(.testRunning)
            let start = ContinuousClock.now
            var sent: UInt64 = 0
            let block = [UInt8](repeating: 7, count: 16 << 10)
            while let control = server.control, try Deadline.after(.zero).waitReadable([control.fd]).isEmpty {
                try server.streams.first?.sendAll(block, deadline: .after(.seconds(2)))
                sent += UInt64(block.count)
            }
            toldAfter.withLock { $0 = ContinuousClock.now - start }
            guard try server.read(1).first == IperfState.testEnd.byte else { return }
            for stream in server.streams { stream.shutdownWrite() }
            try server.exchangeResults(try Self.results([(1, sent)]))
            try server.send(.displayResults)
            _ = try server.read(1)  // IPERF_DONE
        }
        defer { server.wait() }
        var request = try request(server.endpoint, direction: .receive)
        request.duration = .milliseconds(300)
        _ = try IperfClient(request).run(.sendfile)
        let told = try #require(toldAfter.withLock { $0 })
        #expect(told >= .milliseconds(290) && told < .milliseconds(450), "TEST_END after \(told)")
    }

    /// A server that ends a timed test itself is heard during the test: the
    /// client ends it at once, and does not run on until its sender stalls.
    @Test func serverTerminateDuringATimedTestIsHeardAtOnce() throws {
        let server = try FakeServer { server in
            try server.exchangeParameters()
            try server.acceptStreams()
            try server.send(.testStart)
            try server.send(.testRunning)
            try server.send(.serverTerminate)
            // The data connections stay open and unread until the client hangs up.
            _ = try? server.control?.receiveSome(limit: 1, deadline: .after(.seconds(8)))
        }
        defer { server.wait() }
        var request = try request(server.endpoint)
        request.duration = .seconds(6)
        let started = ContinuousClock.now
        let error = #expect(throws: IperfPeerError.self) { try IperfClient(request).run(.sendfile) }
        #expect(error?.problem == .terminated)
        #expect(ContinuousClock.now - started < .seconds(2))
    }

    // MARK: Refusals and errors

    /// `iperf3 -s` closes its listening socket at the end of a test and opens a new
    /// one: a test started at once may find nothing listening for a moment, and is
    /// tried again within `reopenWindow`; past it, the refusal is the error.
    @Test func aServerThatListensAgainWithinAMomentIsReached() throws {
        SignalMask.ignoreBrokenPipe()
        let port = try TCPListener(host: "127.0.0.1", port: 0).port  // free, and closed again at once
        let endpoint = Endpoint(host: "127.0.0.1", port: port, peerProtocol: .iperf3)
        let request = try IperfServerTests().request(endpoint, direction: .send)
        let started = ContinuousClock.now
        #expect(throws: ConnectionError.self) { _ = try IperfClient(request).run(.sendfile) }
        let waited = (ContinuousClock.now - started).seconds
        #expect(waited >= IperfClient.reopenWindow.seconds && waited < 3, "\(waited) s")
        // The server comes back 300 ms after the client's first attempt (a pause in
        // the scenario, as iperf3's between two tests).
        let server = Mutex<IperfServerTests.RunningServer?>(nil)
        Thread.detachNewThread {
            Thread.sleep(forTimeInterval: 0.3)
            server.withLock { $0 = try? IperfServerTests.RunningServer(port: port) }
        }
        defer { server.withLock { $0?.stop() } }
        let run = try IperfClient(request).run(.sendfile)
        #expect(run.results.first?.bytes == 4 << 20)
    }

    @Test func accessDeniedIsBusy() throws {
        #expect(try problem { try $0.send(.accessDenied) } == .busy)
    }

    @Test func serverErrorCarriesBothCodes() throws {
        let problem = try problem { server in
            try server.send(IperfControl.serverErrorBytes(code: IperfErrorCode.streams, errno: 0))
        }
        #expect(problem == .serverError(code: 6, errno: 0))
        #expect(IperfPeerError(peer: "x", problem: problem ?? .busy).description.contains("more parallel streams than the server allows"))
    }

    @Test func aServerErrorOfAccessDeniedIsBusyToo() throws {
        #expect(try problem { try $0.send(IperfControl.serverErrorBytes(code: 121, errno: 0)) } == .busy)
    }

    @Test func somethingElseIsNotIperf() throws {
        #expect(
            try problem { try $0.send(Array("HTTP/1.1 400 Bad Request\r\n\r\n".utf8)) } == .notIperf(reason: #"it sent "HTTP/1.1 400 Bad Request""#))
        #expect(try problem { try $0.send([0x7F, 0x1B, 0x5B, 0x32, 0x4A]) } == .notIperf(reason: "it sent something else"))
    }

    @Test func aServerThatHangsUpAfterTheCookieIsNotIperf() throws {
        let problem = try problem { server in server.control?.shutdownBoth() }
        #expect(problem == .notIperf(reason: "it closed the connection"))
    }

    @Test func aServerSilentAfterTheCookieIsNotIperf() throws {
        let problem = try problem { _ in Thread.sleep(forTimeInterval: 3) }
        #expect(problem == .notIperf(reason: "it stayed silent"))
    }

    @Test func aServerThatHangsUpLaterIsClosed() throws {
        let problem = try problem { server in
            try server.exchangeParameters()
            server.control?.shutdownBoth()
        }
        guard case .closed = problem else {
            Issue.record("\(String(describing: problem))")
            return
        }
    }

    @Test func aSilentServerTimesOutAtTheReplyTimeout() throws {
        let server = try FakeServer { server in
            try server.exchangeParameters()
            Thread.sleep(forTimeInterval: 3)
        }
        defer { server.wait() }
        let started = ContinuousClock.now
        do {
            _ = try IperfClient(try request(server.endpoint)).run(.sendfile)
            Issue.record("a silent server was not noticed")
        } catch let error as IperfPeerError {
            guard case .silent = error.problem else {
                Issue.record("\(error)")
                return
            }
        }
        #expect(ContinuousClock.now - started < .seconds(2))
    }

    @Test func anUnknownStateIsRefused() throws {
        let problem = try problem { server in
            try server.exchangeParameters()
            try server.send([77])
        }
        #expect(problem == .protocolBroken(.unknownState(77)))
    }

    @Test func aStateOutOfTurnIsRefused() throws {
        let problem = try problem { server in
            try server.exchangeParameters()
            try server.send(.testRunning)
        }
        #expect(problem == .protocolBroken(.unexpectedState(.testRunning, expected: "CREATE_STREAMS")))
    }

    @Test func serverTerminateDuringTheTestEndsIt() throws {
        let problem = try problem { server in
            try server.exchangeParameters()
            try server.acceptStreams()
            try server.send(.testStart)
            try server.send(.testRunning)
            try server.send(.serverTerminate)
            Thread.sleep(forTimeInterval: 0.5)
        }
        #expect(problem == .terminated)
    }

    @Test func oversizedResultsAreRefused() throws {
        let problem = try problem { server in
            try server.exchangeParameters()
            try server.acceptStreams()
            _ = try server.runUntilTestEnd()
            try server.exchangeResults([0x00, 0x10, 0x00, 0x00])  // 1 MiB announced
        }
        guard case .protocolBroken(.oversized) = problem else {
            Issue.record("\(String(describing: problem))")
            return
        }
    }

    @Test func invalidResultsJSONIsRefused() throws {
        let problem = try problem { server in
            try server.exchangeParameters()
            try server.acceptStreams()
            _ = try server.runUntilTestEnd()
            try server.exchangeResults([0, 0, 0, 5] + Array("{nope".utf8))
        }
        #expect(problem == .protocolBroken(.invalidJSON))
    }

    @Test func resultsStalledMidMessageTimeOut() throws {
        let problem = try problem { server in
            try server.exchangeParameters()
            try server.acceptStreams()
            _ = try server.runUntilTestEnd()
            try server.exchangeResults([0, 0, 1, 0] + Array("{\"cpu".utf8))
            Thread.sleep(forTimeInterval: 2)
        }
        guard case .silent = problem else {
            Issue.record("\(String(describing: problem))")
            return
        }
    }

    @Test func impossibleFiguresAreNotTrusted() throws {
        for reply in [
            try Self.results([(1, 5 << 20)]),  // more received than sent
            try Self.results([(7, 1 << 20)]),  // a stream id that does not exist
            try Self.results([(1, 1 << 20), (3, 1)]),  // a stream too many
            try Self.results([(1, 1 << 20)], cpu: 1e9)
        ] {
            let server = try FakeServer { server in
                try server.exchangeParameters()
                try server.acceptStreams()
                _ = try server.runUntilTestEnd()
                try server.exchangeResults(reply)
                try server.send(.displayResults)
            }
            #expect(throws: (any Error).self) { try run(server) }
        }
    }

    // MARK: Messages

    @Test func parametersAreBoundedAndReadTheWayIperf3WritesThem() throws {
        let real = Array(
            #"{"tcp":true,"omit":0,"time":1,"num":0,"blockcount":0,"parallel":2,"len":131072,"pacing_timer":1000,"client_version":"3.12"}"#.utf8)
        let parsed = try IperfParameters(json: real)
        #expect(parsed.seconds == 1 && parsed.bytes == nil && parsed.streams == 2 && parsed.direction == .send && parsed.connections == 2)
        let reverse = try IperfParameters(json: Array(#"{"tcp":true,"num":1048576,"parallel":1,"reverse":true}"#.utf8))
        #expect(reverse.bytes == 1 << 20 && reverse.seconds == 0 && reverse.direction == .receive)
        #expect(try IperfParameters(json: Array(#"{"udp":true,"time":5,"bidirectional":true}"#.utf8)).transport == .udp)
        // -k: blocks of -l bytes bound the test as -n does; a product past 2^64 is no bound to trust.
        #expect(parsed.byteLimit == nil && reverse.byteLimit == 1 << 20)
        let blocks = try IperfParameters(json: Array(#"{"tcp":true,"blockcount":256,"len":65536,"parallel":1}"#.utf8))
        #expect(blocks.byteLimit == 16 << 20)
        let huge = try IperfParameters(json: Array(#"{"tcp":true,"blockcount":1125899906842624,"len":16777216,"parallel":1}"#.utf8))
        #expect(huge.byteLimit == .max)
        for bad in [
            #"{"parallel":100000}"#, #"{"time":-1}"#, #"{"len":"big"}"#, #"{"parallel":1.5}"#, "[1,2]", "{",
            #"{"congestion":"aaaaaaaaaaaaaaaaaaaaaaaaa"}"#
        ] {
            #expect(throws: IperfWireError.self) { try IperfParameters(json: Array(bad.utf8)) }
        }
    }

    @Test func resultsReadIperf312sUnsignedMinusOne() throws {
        let body = Array(
            #"{"cpu_util_total":29.7,"cpu_util_user":0,"cpu_util_system":29.7,"sender_has_retransmits":1.8446744073709552e+19,"streams":[{"id":1,"bytes":10485760,"retransmits":1.8446744073709552e+19,"jitter":0,"errors":0,"packets":0,"start_time":0,"end_time":0.07}]}"#
                .utf8)
        let results = try IperfResults(json: body)
        #expect(results.senderHasRetransmits == -1)
        #expect(results.streams == [IperfResults.Stream(id: 1, bytes: 10_485_760, retransmits: -1, endTime: 0.07)])
        for bad in [
            #"{"cpu_util_total":1,"cpu_util_user":1,"cpu_util_system":1,"sender_has_retransmits":1}"#,
            #"{"cpu_util_total":1e30,"cpu_util_user":1,"cpu_util_system":1,"sender_has_retransmits":1,"streams":[]}"#,
            #"{"cpu_util_total":1,"cpu_util_user":1,"cpu_util_system":1,"sender_has_retransmits":1,"streams":[{"id":1,"bytes":1},{"id":1,"bytes":2}]}"#,
            #"{"cpu_util_total":1,"cpu_util_user":1,"cpu_util_system":1,"sender_has_retransmits":1,"streams":[{"id":1,"bytes":-5}]}"#,
            #"{"cpu_util_total":1,"cpu_util_user":1,"cpu_util_system":1,"sender_has_retransmits":1,"streams":[{"id":1,"bytes":1,"start_time":2,"end_time":1}]}"#
        ] {
            #expect(throws: IperfWireError.self) { try IperfResults(json: Array(bad.utf8)) }
        }
    }

    @Test func cookiesAndStreamIDs() {
        let cookie = IperfWire.makeCookie()
        #expect(IperfWire.isCookie(cookie))
        #expect(!IperfWire.isCookie(Array(cookie.dropLast()) + [65]))
        #expect(!IperfWire.couldBeCookie(Array("NTP2".utf8)[...]))
        #expect((0..<5).map(IperfResults.streamID) == [1, 3, 4, 5, 6])
    }

    @Test func endpointsSayWhichProtocol() throws {
        #expect(try Endpoint(parsing: "iperf3://10.0.0.2") == Endpoint(host: "10.0.0.2", port: 5201, peerProtocol: .iperf3))
        #expect(try Endpoint(parsing: "iperf3://[::1]:5202") == Endpoint(host: "::1", port: 5202, peerProtocol: .iperf3))
        #expect(try Endpoint(parsing: "iperf3://[::1]").description == "iperf3://[::1]:5201")
        #expect(try Endpoint(parsing: "10.0.0.2:9000").peerProtocol == .nettune)
        for bad in ["iperf3://", "iperf3://host:0", "iperf3://a/b", "iperf3://[::1"] {
            #expect(throws: EndpointError.self) { try Endpoint(parsing: bad) }
        }
    }
}
