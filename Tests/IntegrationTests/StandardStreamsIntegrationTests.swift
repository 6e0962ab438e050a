import Foundation
import Testing

/// A server started with its standard streams closed (`2>&-`, some launchers):
/// its signal pipe took descriptors 0 and 1 and its log lines went into another of
/// its own pipes. Each closed one is /dev/null now, and the server serves.
@Suite(.enabled(if: TestEnvironment.isRoot, TestEnvironment.rootReason))
struct StandardStreamsIntegrationTests {
    @Test func aServerStartedWithItsStandardStreamsClosedGetsDevNullForThem() throws {
        try Lab.with { lab in
            let cache = TestEnvironment.userStateDirectory + "/server-cache"
            let server = try Command.start([
                "ip", "netns", "exec", lab.nsB, "bash", "-c", #"exec "$0" serve --port "$1" --cache-dir "$2" <&- >&- 2>&-"#,
                TestEnvironment.binary, Lab.probePort, cache
            ])
            defer {
                server.terminate()
                _ = try? server.wait()
            }
            try lab.awaitListening(in: lab.nsB, port: Lab.probePort)
            for fd in 0...2 {
                let target = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(server.pid)/fd/\(fd)")
                #expect(target == "/dev/null", "descriptor \(fd) is \(target)")
            }
            let probe = try lab.nettune(in: lab.nsA, ["probe", "\(lab.addrB):\(Lab.probePort)", "--size", "1M"])
            #expect(probe.status == 0, "\(probe.stderr)")
        }
    }
}

/// Results written to a full disk (here /dev/full) exited 0 with the file cut
/// short, and a script took it for a result. A reader that leaves early (`| head`)
/// is no error.
@Suite struct StandardOutputIntegrationTests {
    private func shell(_ script: String) throws -> CommandResult {
        try Command.run(["bash", "-c", "set -o pipefail; " + script, TestEnvironment.binary])
    }

    @Test(arguments: [["profiles"], ["profiles", "--json"], ["show", "--json"]])
    func aFullDiskIsAFailure(arguments: [String]) throws {
        let result = try shell(#""$0" "# + arguments.joined(separator: " ") + " > /dev/full")
        #expect(result.status == 1)
        #expect(result.stderr.contains("the output could not all be written to stdout: No space left on device"), "\(result.stderr)")
    }

    @Test func aReaderThatLeavesEarlyIsNot() throws {
        // `true` has left before nettune writes: its write meets EPIPE.
        let result = try shell(#""$0" show --json | true"#)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.isEmpty, "\(result.stderr)")
    }
}
