import Testing

@testable import NetTuneCommands

/// A command asked for JSON fails with JSON on stdout as well.
@Suite struct JSONFailureTests {
    @Test func aDocumentAndAStreamLineHaveTheDocumentedShape() {
        #expect(
            JSONFailure.text(for: "no profile named 'x'", exitStatus: 1, style: .document) == """
                {
                  "error" : "no profile named 'x'",
                  "exit_status" : 1
                }
                """)
        #expect(
            JSONFailure.text(for: "interrupted by SIGINT", exitStatus: 130, style: .line(type: "error"))
                == #"{"error":"interrupted by SIGINT","exit_status":130,"type":"error"}"#)
        #expect(JSONFailure.text(for: "x", exitStatus: 1, style: .line(type: nil)) == #"{"error":"x","exit_status":1}"#)
        #expect(JSONFailure.text(for: "", exitStatus: 1, style: .document) == nil)
    }

    /// Every command with --json says so; without it, none writes JSON.
    @Test(arguments: [
        ["show"], ["profiles"], ["profiles", "show", "pi-lan"], ["apply", "pi-lan"], ["revert"], ["verify", "pi-lan"],
        ["try", "pi-lan"], ["history"], ["recommend", "h"], ["serve"], ["probe", "h"]
    ])
    func everyJSONCommandReportsItsFailureAsJSON(arguments: [String]) throws {
        let plain = try NetTuneCommand.parseAsRoot(arguments)
        #expect((plain as? any JSONResultCommand)?.jsonStyle == nil)
        let json = try #require(try NetTuneCommand.parseAsRoot(arguments + ["--json"]) as? any JSONResultCommand)
        #expect(json.jsonStyle != nil)
    }

    @Test func aProbeStreamReportsAnErrorLine() throws {
        let command = try #require(try NetTuneCommand.parseAsRoot(["probe", "h", "--json-stream"]) as? any JSONResultCommand)
        guard case .line(let type) = command.jsonStyle else {
            Issue.record("--json-stream should fail with a line")
            return
        }
        #expect(type == "error")
    }
}
