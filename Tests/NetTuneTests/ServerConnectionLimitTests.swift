import Foundation
import Glibc
import Testing

@testable import NetTune

/// One host flooding `serve`'s port with connections that say nothing: it gets its
/// share of the server's connection handlers, and every other client is still
/// served. On 127.0.0.1, the flood from 127.0.0.2.
@Suite struct ServerConnectionLimitTests {
    /// A TCP connection from `source` to 127.0.0.1:`port` that sends nothing.
    private func idleConnection(from source: String, to port: UInt16) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EMFILE) }
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        inet_pton(AF_INET, source, &local.sin_addr)
        var remote = sockaddr_in()
        remote.sin_family = sa_family_t(AF_INET)
        remote.sin_port = port.bigEndian
        inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr)
        let bound = withUnsafePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        let connected = withUnsafePointer(to: &remote) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, connected == 0 else {
            close(fd)
            throw POSIXError(.ECONNREFUSED)
        }
        return fd
    }

    @Test func oneHostsIdleConnectionsLeaveRoomForOthers() throws {
        // Patient with silence, so only the limits decide; 8 handlers, 4 per address.
        let server = try IperfServerTests.RunningServer(
            idleTimeout: .seconds(20), headerTimeout: .seconds(20), connectionLimits: (total: 8, perAddress: 4))
        defer { server.stop() }
        var idle: [Int32] = []
        defer { for fd in idle { close(fd) } }
        // As many as the server handles in all: without a share per address, this
        // host alone would hold every handler until its header timeout.
        for _ in 0..<8 { idle.append(try idleConnection(from: "127.0.0.2", to: server.port)) }

        let refusal = try #require(server.log(count: 1).first)
        #expect(refusal.peer == "127.0.0.2")
        guard case .refused(_, let message) = refusal.outcome else {
            Issue.record("expected a refusal, got \(refusal.outcome)")
            return
        }
        #expect(message.contains("4 connections from this address are open at once"))

        let request = try IperfServerTests().request(Endpoint(host: "127.0.0.1", port: server.port), direction: .send)
        let run = try ProbeClient(request).run(.sendfile)
        #expect(run.results.first?.bytes == UInt64(request.payload.size))
        // The refusal was logged once, not for each connection closed.
        let events = server.log(count: 2)
        #expect(events.filter { if case .refused = $0.outcome { true } else { false } }.count == 1)
    }
}
