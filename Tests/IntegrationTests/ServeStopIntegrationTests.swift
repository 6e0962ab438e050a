import Foundation
import Testing

/// `nettune serve` stopped as systemd stops it (SIGTERM) in the middle of a
/// transfer: the client gets one line saying why, the server logs the session and
/// exits 0 within seconds. In a lab, the real binaries.
@Suite(.enabled(if: TestEnvironment.isRoot, TestEnvironment.rootReason))
struct ServeStopIntegrationTests {
    /// A client in namespace a, what its stderr or stdout must say once the server
    /// is stopped, and which way its bytes go.
    struct Case: CustomStringConvertible, Sendable {
        var client: [String]
        var says: String
        var serverSends: Bool
        var logged: String
        var description: String { client.joined(separator: " ") }
    }

    static let cases = [
        Case(
            client: ["probe", "--time", "30s"], says: "the server was stopped (SIGTERM) during the transfer; try again when it is back",
            serverSends: false, logged: "the server was stopped (SIGTERM) during the transfer"),
        Case(
            client: ["probe", "--time", "30s", "-R", "-P", "2"],
            says: "the server was stopped (SIGTERM) during the transfer; try again when it is back", serverSends: true,
            logged: "the server was stopped (SIGTERM) during the transfer"),
        Case(
            client: ["iperf3", "-t", "30"], says: "the server has terminated", serverSends: false,
            logged: "the server was stopped (SIGTERM) during the test")
    ]

    @Test(arguments: cases)
    func aServerStoppedMidTransferTellsItsClientAndLogs(_ testCase: Case) throws {
        try Scratch.with { scratch in
            try Lab.with { lab in
                let server = try Command.start([
                    "ip", "netns", "exec", lab.nsB, TestEnvironment.binary, "serve", "--port", Lab.probePort, "--json",
                    "--cache-dir", TestEnvironment.userStateDirectory + "/server-cache"
                ])
                defer {
                    server.kill()
                    _ = try? server.wait()
                }
                try lab.awaitListening(in: lab.nsB, port: Lab.probePort)
                let clientArguments =
                    testCase.client.first == "iperf3"
                    ? ["iperf3", "-c", lab.addrB, "-p", Lab.probePort] + testCase.client.dropFirst()
                    : [TestEnvironment.binary, "probe", "\(lab.addrB):\(Lab.probePort)", "--runs", "1", "--warmup", "0", "--cache-dir", scratch.path]
                        + testCase.client.dropFirst()
                let client = try Command.start(["ip", "netns", "exec", lab.nsA] + clientArguments)
                defer {
                    client.kill()
                    _ = try? client.wait()
                }
                // Stopped once the transfer is under way: 64 MiB across the veth.
                try lab.awaitBytes(in: lab.nsB, device: lab.ifB, sent: testCase.serverSends, atLeast: 64 << 20, within: 60)
                let stopped = Date()
                server.terminate()
                let served = try server.wait()
                #expect(Date().timeIntervalSince(stopped) < 5, "a 30 s run: only the stop ends it")
                #expect(served.status == 0, "\(served.stderr)")
                #expect(served.stderr.contains("nettune serve: stopped (SIGTERM)"), "\(served.stderr)")
                let log = served.stdout.split(separator: "\n").compactMap {
                    try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
                }
                #expect(log.count == 1, "\(served.stdout)")
                #expect(log.first?["outcome"] as? String == "failed")
                #expect(log.first?["message"] as? String == testCase.logged, "\(served.stdout)")
                #expect((log.first?["bytes"] as? Int ?? 0) >= 64 << 20, "how far it got: \(served.stdout)")
                let result = try client.wait()
                #expect(Date().timeIntervalSince(stopped) < 8)
                #expect(result.status != 0)
                #expect((result.stderr + result.stdout).contains(testCase.says), "\(result.stderr) \(result.stdout.suffix(300))")
            }
        }
    }
}
