import Foundation
import Testing

@testable import NetTuneCommands

/// Pretty JSON as people and `jq` read it: empty arrays and objects on one line,
/// and no value changed by the tidying.
@Suite struct JSONOutputTests {
    struct Sample: Encodable {
        var runs: [Int] = []
        var tags: [String: String] = [:]
        var note = "[\n\n]{\n\n}"
    }

    @Test func emptyArraysAndObjectsAreWrittenOnOneLine() throws {
        #expect(try JSONOutput.encode([Int]()) == "[]")
        let text = try JSONOutput.encode(Sample())
        #expect(text.contains(#""runs" : []"#), "\(text)")
        #expect(text.contains(#""tags" : {}"#), "\(text)")
    }

    @Test func aStringThatLooksLikeTheGapKeepsItsNewlines() throws {
        let text = try JSONOutput.encode(Sample())
        let decoded = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        #expect(decoded?["note"] as? String == "[\n\n]{\n\n}")
    }
}
