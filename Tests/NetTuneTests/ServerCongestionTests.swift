import Foundation
import Testing

@testable import NetTune

/// `--congestion` where the server sends (`probe --reverse`, `iperf3 -R -C`): the
/// server's sending sockets use the algorithm asked for, or the server refuses and
/// says which it has; results name the sender's algorithm, never the receiver's.
/// On 127.0.0.1, with the server's list of algorithms injected.
@Suite struct ServerCongestionTests {
    typealias RunningServer = IperfServerTests.RunningServer

    func nettune(_ server: RunningServer) -> Endpoint { Endpoint(host: "127.0.0.1", port: server.port) }

    @Test(arguments: [ProbeDirection.receive, .both])
    func theServerSendsWithTheAlgorithmAskedFor(direction: ProbeDirection) throws {
        let server = try RunningServer(congestionControls: { ["reno", "bbr", "cubic"] })
        defer { server.stop() }
        let request = try IperfServerTests().request(nettune(server), direction: direction, congestion: "reno")
        let run = try ProbeClient(request).run(.sendfile)
        for result in run.results { #expect(result.congestion == "reno", "\(result.direction)") }
        let event = try #require(server.log(count: 1).first)
        #expect(event.outcome == .completed)
        #expect(event.congestion == "reno")
    }

    /// The receive direction's algorithm is the server's default, not this socket's.
    @Test func withoutOneTheServersDefaultIsReported() throws {
        let server = try RunningServer(tuning: { _ in TuningState(congestion: "servers-own") })
        defer { server.stop() }
        let run = try ProbeClient(try IperfServerTests().request(nettune(server), direction: .both)).run(.sendfile)
        let sent = try #require(run.results.first { $0.direction == .send })
        let received = try #require(run.results.first { $0.direction == .receive })
        #expect(sent.congestion != "servers-own")
        #expect(received.congestion == "servers-own")
        // The server's log reads its sending socket.
        let event = try #require(server.log(count: 1).first)
        #expect(event.congestion == sent.congestion, "both ends run in this namespace, with its default")
    }

    /// A send-only probe asks nothing new of the server.
    @Test func aSendProbeLeavesTheServersSocketsAlone() throws {
        let server = try RunningServer(congestionControls: { [] })
        defer { server.stop() }
        let run = try ProbeClient(try IperfServerTests().request(nettune(server), direction: .send, congestion: "reno")).run(.sendfile)
        #expect(run.result.congestion == "reno")
        #expect(try #require(server.log(count: 1).first).congestion == nil)
    }

    @Test func anAlgorithmTheServerLacksIsRefusedByNameAndTheNextProbeRuns() throws {
        let server = try RunningServer(congestionControls: { ["reno", "bbr"] })
        defer { server.stop() }
        let request = try IperfServerTests().request(nettune(server), direction: .receive, congestion: "vegas")
        #expect {
            _ = try ProbeClient(request).run(.sendfile)
        } throws: { error in
            (error as? ProbeRefusedError)?.refusal
                == RefusedMessage(status: .badRequest, message: "congestion control vegas is not available on this server (it has reno, bbr)")
        }
        guard case .refused(.badRequest, _)? = server.log(count: 1).first?.outcome else {
            Issue.record("\(server.log(count: 1))")
            return
        }
        let run = try ProbeClient(try IperfServerTests().request(nettune(server), direction: .receive, congestion: "reno")).run(.sendfile)
        #expect(run.result.bytes == 4 << 20)
    }

    /// What the list cannot tell: the kernel still has the last word.
    @Test func whatTheListPassesTheKernelMayStillRefuse() throws {
        #expect(ServerCongestion.refusal("reno", available: ["reno"]) == nil)
        #expect(ServerCongestion.refusal("reno", available: [])?.contains("cannot be checked") == true)
        #expect(ServerCongestion.refusal("../x", available: ["../x"]) == "that is not the name of a congestion control")
        let listener = try TCPListener(host: "127.0.0.1", port: 0)
        let client = try TCPConnection.connect(to: Endpoint(host: "127.0.0.1", port: listener.port), deadline: .after(.seconds(2)))
        #expect(ServerCongestion.apply("reno", to: [client]) == nil)
        #expect(client.congestionControl == "reno")
        let failure = try #require(ServerCongestion.apply("missing", to: [client]))
        #expect(failure.hasPrefix("the server could not use congestion control missing: setsockopt(TCP_CONGESTION, missing): "))
        #expect(client.congestionControl == "reno")
    }

    /// An iperf3 client's -C: set on every socket of the test (as iperf3's server
    /// does), reported back as the sender's, refused with iperf3's own code.
    @Test func iperf3sCongestionParameterIsHonouredOrRefused() throws {
        let server = try RunningServer(congestionControls: { ["reno", "bbr"] })
        defer { server.stop() }
        let endpoint = server.endpoint
        let run = try IperfClient(try IperfServerTests().request(endpoint, direction: .receive, congestion: "reno")).run(.sendfile)
        #expect(run.result.congestion == "reno")
        #expect(try #require(server.log(count: 1).first).congestion == "reno")
        for name in ["vegas", "x;y"] {
            let client = try IperfServerTests.ScriptedClient(port: server.port)
            #expect(try client.state() == IperfState.parameterExchange.rawValue)
            try client.sendParameters(#"{"tcp":true,"time":1,"parallel":1,"reverse":true,"congestion":"\#(name)"}"#)
            #expect(try client.serverError() == IperfErrorCode.setCongestion, "\(name)")
        }
        try IperfServerTests().expectServesAfterwards(server)
    }
}
