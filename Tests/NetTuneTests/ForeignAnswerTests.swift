import Foundation
import Testing

@testable import NetTune

/// A nettune probe aimed at something that is not `nettune serve` says what it
/// found: an iperf3 server named without `iperf3://`, or another service's banner.
@Suite struct ForeignAnswerTests {
    /// A one-connection server on 127.0.0.1 that reads the client's first bytes and
    /// answers `answer`, as the foreign service would.
    func error(whenTheServerAnswers answer: [UInt8]) throws -> ProbeProtocolError? {
        let listener = try TCPListener(host: "127.0.0.1", port: 0)
        let served = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            defer { served.signal() }
            guard let connection = try? listener.accept(deadline: .after(.seconds(5))) else { return }
            _ = try? connection.receiveSome(limit: 4096, deadline: .after(.seconds(2)))
            try? connection.sendAll(answer, deadline: .after(.seconds(2)))
            _ = try? connection.receiveSome(limit: 4096, deadline: .after(.seconds(2)))  // until the client hangs up
        }
        defer { _ = served.wait(timeout: .now() + 10) }
        let request = ProbeRequest(
            endpoint: Endpoint(host: "127.0.0.1", port: listener.port), payload: .requested(size: 1 << 20),
            connectTimeout: .seconds(2), replyTimeout: .seconds(2), stallTimeout: .seconds(2), direction: .receive)
        do {
            _ = try ProbeClient(request).run(.sendfile)
            return nil
        } catch let error as ProbeProtocolError {
            return error
        }
    }

    @Test(arguments: [IperfState.parameterExchange, .accessDenied, .serverError])
    func anIperf3ServerIsNamedWithItsScheme(state: IperfState) throws {
        let error = try #require(try error(whenTheServerAnswers: [state.byte]))
        let port = error.endpoint.port
        #expect(
            error.description
                == "127.0.0.1:\(port) answered as an iperf3 server does, not as `nettune serve`: to measure against it, name it iperf3://127.0.0.1:\(port)"
        )
    }

    @Test func anotherServicesBannerIsQuoted() throws {
        let error = try #require(try error(whenTheServerAnswers: Array("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n".utf8)))
        #expect(error.description.hasSuffix(#"bad magic (the message does not start with "NTP2"); it sent "SSH-2.0-OpenSSH_9.2p1 Debian-2""#))
    }

    @Test func onlyPrintableTextIsQuotedAndLongLinesAreCut() {
        #expect(ForeignAnswer.quotedLine(Array("HTTP/1.0 400 Bad request\r\n\r\n".utf8)) == #""HTTP/1.0 400 Bad request""#)
        #expect(ForeignAnswer.quotedLine(Array("\u{1B}]0;owned\u{07}".utf8)) == nil)
        #expect(ForeignAnswer.quotedLine([0x4E, 0x54, 0xFF]) == nil)
        #expect(ForeignAnswer.quotedLine(Array("ok".utf8)) == nil)
        #expect(ForeignAnswer.quotedLine([]) == nil)
        #expect(ForeignAnswer.quotedLine(Array(String(repeating: "a", count: 100).utf8)) == "\"" + String(repeating: "a", count: 60) + "…\"")
    }

    /// The server's byte is recognised only from a server: a client sending it is
    /// just not a nettune client.
    @Test func theIperf3HintIsOnlyForAServer() {
        var error = ProbeProtocolError(endpoint: Endpoint(host: "10.0.0.2", port: 9000), detail: .badMagic, received: [9])
        #expect(error.description == #"10.0.0.2:9000 does not speak nettune's probe protocol: bad magic (the message does not start with "NTP2")"#)
        error.peerIsServer = true
        #expect(error.description.hasSuffix("name it iperf3://10.0.0.2:9000"))
    }
}
