import Testing

@testable import NetTune

@Suite struct ProfileTOMLTests {
    @Test func parsesTheSubsetProfilesUse() throws {
        let table = try ProfileTOML.parse(
            """
            # comment
            version = 1   # trailing comment
            description = "Pi \\"LAN\\" — \\u00e9t\\u00e9"
            include = [ "a",
              'b',   # a comment inside a list
            ]
            "quoted.key" = 1_000
            negative = -12
            fraction = 1.5e3
            flag = true

            [sysctl]
            net.ipv4.tcp_wmem = "4096 16384 4194304"
            net . ipv4 . tcp_rmem = 'raw \\ string'

            [link]
            mtu = 9000\r
            """)
        #expect(table.keys == ["version", "description", "include", "quoted.key", "negative", "fraction", "flag", "sysctl", "link"])
        #expect(table["version"] == .integer(1))
        #expect(table["description"] == .string("Pi \"LAN\" — été"))
        #expect(table["include"] == .array([.string("a"), .string("b")]))
        #expect(table["quoted.key"] == .integer(1000))
        #expect(table["negative"] == .integer(-12))
        #expect(table["fraction"] == .float(1500))
        #expect(table["flag"] == .bool(true))
        let sysctl = try #require(table["sysctl"]?.table)
        let ipv4 = try #require(sysctl["net"]?.table?["ipv4"]?.table)
        #expect(ipv4["tcp_wmem"] == .string("4096 16384 4194304"))
        #expect(ipv4["tcp_rmem"] == .string("raw \\ string"))
        #expect(ipv4.line(of: "tcp_rmem") == 14)
        #expect(table["link"]?.table?["mtu"] == .integer(9000))
        #expect(table.line(of: "link") == 16)
    }

    @Test(arguments: [
        ("a = 1\na = 2", 2, "defined twice"),
        ("[t]\n[t]", 2, "defined twice"),
        ("a = 1\n[a]", 2, "already a value"),
        ("a.b = 1\n[a.b]", 2, "already a value"),
        ("a = ", 1, "expected a value"),
        ("a = 1 2", 1, "expected the end of the line"),
        ("a = \"open", 1, "not closed"),
        ("a = \"x\\q\"", 1, "not an escape"),
        ("a = \"\"\"multi\"\"\"", 1, "multi-line strings are not used"),
        ("a = {b = 1}", 1, "inline tables are not used"),
        ("[[t]]", 1, "arrays of tables"),
        ("a = 1979-05-27T07:32:00Z", 1, "dates and times"),
        ("a = bareword", 1, "is not a value; quote strings"),
        ("a = 0x1F", 1, "is not a value"),
        ("a = 01", 1, "is not a value"),
        ("a = 1__0", 1, "is not a value"),
        ("a = [1, 2", 1, "not closed with ']'"),
        ("a = [1 2]", 1, "expected ',' or ']'"),
        ("= 1", 1, "expected a key"),
        ("a 1", 1, "expected '='"),
        // What fuzzing found toml++ asserting on (undefined behaviour in release builds):
        ("version = 1\n[`sysctl]", 2, "expected a key, found '`'"),
        ("include = [}\"kernel-default\"]", 1, "expected a value"),
        ("[\u{01}\u{00}sysctl]", 1, "expected a key, found 'U+0001'"),
        ("a = \"x\u{07}y\"", 1, "control characters"),
        ("# bell \u{07}\na = 1", 1, "expected a key, found 'U+0007'")
    ])
    func refusesWithALine(text: String, line: Int, message: String) {
        let error = #expect(throws: ProfileTOML.SyntaxError.self) { try ProfileTOML.parse(text) }
        #expect(error?.line == line, "\(String(describing: error))")
        #expect(error?.message.contains(message) == true, "\(String(describing: error))")
    }

    @Test func deepNestingIsRefusedNotRecursedInto() {
        let text = "a = " + String(repeating: "[", count: 100_000)
        let error = #expect(throws: ProfileTOML.SyntaxError.self) { try ProfileTOML.parse(text) }
        #expect(error?.message.contains("nest deeper") == true)
    }

    @Test func integersOutsideInt64AreRefused() throws {
        #expect(throws: ProfileTOML.SyntaxError.self) { try ProfileTOML.parse("a = 99999999999999999999") }
        #expect(try ProfileTOML.parse("a = 9223372036854775807")["a"] == .integer(.max))
    }
}
