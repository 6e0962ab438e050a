import Foundation
import Testing

/// Run with no HOME and as a user with no home (`env -i` as nobody, whose home is
/// /nonexistent), nettune names the missing place instead of keeping its history
/// or payload in a shared directory another user could have prepared.
@Suite(.enabled(if: TestEnvironment.isRoot, TestEnvironment.rootReason))
struct HomelessIntegrationTests {
    private func runHomeless(_ scratch: Scratch, _ arguments: [String]) throws -> CommandResult {
        try Command.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "env", "-i", scratch.path + "/nettune"]
                + arguments)
    }

    @Test func theHistoryAndThePayloadNeedAHome() throws {
        try Scratch.with { scratch in
            try FileManager.default.copyItem(atPath: TestEnvironment.binary, toPath: scratch.path + "/nettune")
            let history = try runHomeless(scratch, ["history"])
            #expect(history.status == 1)
            #expect(history.stderr.contains("cannot tell where to keep the probe history"), "\(history.stderr)")
            #expect(history.stderr.contains("set HOME or XDG_STATE_HOME to an absolute path, or pass --history"))

            let probe = try runHomeless(scratch, ["probe", "127.0.0.1:9", "--size", "1MiB"])
            #expect(probe.status == 1)
            #expect(probe.stderr.contains("set HOME or XDG_CACHE_HOME to an absolute path, or pass --cache-dir"), "\(probe.stderr)")

            // Given a place, the same user goes on (and finds no history yet).
            let placed = try runHomeless(scratch, ["history", "--history", scratch.path + "/none.jsonl"])
            #expect(placed.status == 0, "\(placed.stderr)")
        }
    }
}
