import Foundation
import Testing

@testable import NetTune

/// `--congestion` takes effect before a data connection's handshake: set on an
/// established socket whose namespace default is BBR, the new algorithm inherits
/// BBR's pacing (README, "Congestion control"). On 127.0.0.1.
@Suite struct CongestionBeforeHandshakeTests {
    /// An algorithm this kernel has that is not the namespace's default, so a socket
    /// reporting it did not just keep the default.
    var other: String {
        let current = (try? TextFile.read("/proc/sys/net/ipv4/tcp_congestion_control", limit: 64))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return current == "reno" ? "cubic" : "reno"
    }

    @Test func aListenersAlgorithmIsEveryAcceptedConnections() throws {
        let listener = try TCPListener(host: "127.0.0.1", port: 0, congestion: other)
        let client = try TCPConnection.connect(to: Endpoint(host: "127.0.0.1", port: listener.port), deadline: .after(.seconds(2)))
        let accepted = try #require(try listener.accept(deadline: .after(.seconds(2))))
        #expect(accepted.congestionControl == other)
        #expect(client.congestionControl != other, "the connecting side keeps the namespace's default")
    }

    @Test func aConnectionsAlgorithmIsSetBeforeItConnects() throws {
        let listener = try TCPListener(host: "127.0.0.1", port: 0)
        let endpoint = Endpoint(host: "127.0.0.1", port: listener.port)
        let client = try TCPConnection.connect(to: endpoint, deadline: .after(.seconds(2)), congestion: other)
        #expect(client.congestionControl == other)
        _ = try #require(try listener.accept(deadline: .after(.seconds(2))))
        // A name the kernel refuses fails the call before any handshake begins.
        #expect {
            _ = try TCPConnection.connect(to: endpoint, deadline: .after(.seconds(2)), congestion: "nosuch")
        } throws: { error in
            (error as? ConnectionError)?.operation == "setsockopt(TCP_CONGESTION, nosuch)"
        }
        #expect(try listener.acceptWaiting() == nil, "no connection was attempted")
    }

    @Test func aListenerWithAnUnknownAlgorithmSaysWhich() {
        #expect {
            _ = try TCPListener(host: "127.0.0.1", port: 0, congestion: "nosuch")
        } throws: { error in
            (error as? ListenError)?.description.contains("setsockopt(TCP_CONGESTION, nosuch): ") == true
        }
    }
}
