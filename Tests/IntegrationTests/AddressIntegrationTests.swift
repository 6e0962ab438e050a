import Foundation
import Testing

/// Reaching the peer: IPv6 link-local with its scope, -4/-6, --bind, --connect-timeout
/// and a peer named without a port.
@Suite(.enabled(if: TestEnvironment.isRoot, TestEnvironment.rootReason))
struct AddressIntegrationTests {
    private func probe(_ lab: Lab, _ scratch: Scratch, _ peer: String, _ extra: [String] = []) throws -> CommandResult {
        try lab.nettune(
            in: lab.nsA, ["probe", peer, "--size", "8MiB", "--runs", "1", "--warmup", "0", "--cache-dir", scratch.path] + extra)
    }

    private func linkLocal(_ lab: Lab, _ ns: String, _ device: String) throws -> String {
        // The address is usable once duplicate address detection has finished.
        for _ in 0..<100 {
            let out = try lab.check(in: ns, ["ip", "-6", "-o", "addr", "show", "dev", device, "scope", "link"])
            if !out.contains("tentative"), let field = out.split(separator: " ").first(where: { $0.hasPrefix("fe80::") }) {
                return String(field.split(separator: "/")[0])
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw CommandFailure(arguments: ["ip", "-6", "addr"], result: CommandResult(status: 1, stdout: "", stderr: "no link-local address"))
    }

    @Test func aLinkLocalPeerKeepsItsScopeForEveryConnection() throws {
        try Scratch.with { scratch in
            try Lab.with { lab in
                let address = try linkLocal(lab, lab.nsB, lab.ifB)
                _ = try linkLocal(lab, lab.nsA, lab.ifA)  // the source address must be usable too
                let (result, log) = try lab.withServer {
                    try probe(lab, scratch, "[\(address)%\(lab.ifA)]", ["-P", "2", "--json"])
                }
                #expect(result.status == 0, "\(result.stderr)")
                let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
                #expect(report["peer"] as? String == "[\(address)%\(lab.ifA)]:9000")
                #expect((report["runs"] as? [[String: Any]])?.first?["bytes"] as? Int == 8 << 20)  // split over the streams
                #expect(log.first { $0["outcome"] as? String == "completed" }?["streams"] as? Int == 2)
            }
        }
    }

    @Test func familyBindAndTimeoutsAreHonouredAndExplained() throws {
        try Scratch.with { scratch in
            try Lab.with { lab in
                let (results, log) = try lab.withServer {
                    (
                        try probe(lab, scratch, lab.addrB, ["-6"]),
                        try probe(lab, scratch, lab.addrB, ["--bind", "10.254.254.254"]),
                        try probe(lab, scratch, lab.addrB, ["--bind", lab.addrA, "-4", "--json"])
                    )
                }
                let (six, wrongBind, bound) = results
                #expect(six.status != 0)
                #expect(six.stderr.contains("with -6: no IPv6 address"), "\(six.stderr)")
                #expect(wrongBind.status != 0)
                #expect(wrongBind.stderr.contains("cannot leave from 10.254.254.254 (--bind): no interface of this machine has that address"))
                #expect(bound.status == 0, "\(bound.stderr)")
                // The server saw the probe come from the bound address (and port 9000 was assumed).
                let peer = try #require(log.first { $0["outcome"] as? String == "completed" }?["peer"] as? String)
                #expect(peer.hasPrefix(lab.addrA + ":"))

                // Nothing answers at this address: the connect timeout bounds the wait.
                let started = Date()
                let silent = try probe(lab, scratch, "10.254.0.1", ["--connect-timeout", "1s"])
                #expect(silent.status != 0)
                #expect(silent.stderr.contains("did not answer (connect timed out)"), "\(silent.stderr)")
                #expect(Date().timeIntervalSince(started) < 4)
            }
        }
    }
}
