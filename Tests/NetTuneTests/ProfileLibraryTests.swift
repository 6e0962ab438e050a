import Foundation
import Testing

@testable import NetTune

@Suite struct ProfileLibraryTests {
    private func profile(_ description: String, include: [String] = [], sysctl: [String: String] = [:], mtu: Int? = nil) -> String {
        var text = "version = 1\ndescription = \"\(description)\"\n"
        if !include.isEmpty { text += "include = [" + include.map { "\"\($0)\"" }.joined(separator: ", ") + "]\n" }
        if !sysctl.isEmpty {
            text += "[sysctl]\n"
            for (key, value) in sysctl.sorted(by: { $0.key < $1.key }) { text += "\(key) = \"\(value)\"\n" }
        }
        if let mtu { text += "[link]\nmtu = \(mtu)\n" }
        return text
    }

    @Test func firstMatchOnTheSearchPathWins() throws {
        let first = try TemporaryDirectory(), second = try TemporaryDirectory()
        try first.write("lan.toml", profile("mine"))
        try second.write("lan.toml", profile("shipped"))
        try second.write("other.toml", profile("other"))
        let library = ProfileLibrary(searchPath: ProfileSearchPath([.init(first.path, .commandLine), .init(second.path, .shipped)]))
        #expect(try library.resolve("lan").description == "mine")
        let entries = library.entries()
        #expect(entries.map(\.name) == ["lan", "lan", "other"])
        #expect(entries.map(\.shadowed) == [false, true, false])
        #expect(entries[0].origin == .commandLine)
    }

    @Test func includesMergeInOrderAndTheIncludingFileWins() throws {
        let dir = try TemporaryDirectory()
        try dir.write(
            "base.toml",
            profile("base", sysctl: ["net.ipv4.tcp_wmem": "1 2 3", "net.ipv4.tcp_rmem": "1 2 3", "net.ipv4.tcp_mtu_probing": "0"], mtu: 1500))
        try dir.write("middle.toml", profile("middle", sysctl: ["net.ipv4.tcp_wmem": "4 5 6", "net.ipv4.tcp_mtu_probing": "1"]))
        try dir.write("top.toml", profile("top", include: ["base", "middle"], sysctl: ["net.ipv4.tcp_mtu_probing": "2"], mtu: 9000))
        let library = ProfileLibrary(searchPath: ProfileSearchPath([.init(dir.path, .commandLine)]))
        let resolved = try library.resolve("top")
        #expect(resolved.sysctls[.tcpWmem] == "4 5 6")  // later include wins
        #expect(resolved.sysctls[.tcpRmem] == "1 2 3")  // only in base
        #expect(resolved.sysctls[.tcpMtuProbing] == "2")  // the including file wins
        #expect(resolved.link.mtu == 9000)
        #expect(resolved.origins["net.ipv4.tcp_wmem"] == "middle")
        #expect(resolved.origins["net.ipv4.tcp_rmem"] == "base")
        #expect(resolved.origins["net.ipv4.tcp_mtu_probing"] == "top")
        #expect(resolved.origins["mtu"] == "top")
        #expect(resolved.description == "top")
    }

    @Test func nestedIncludesKeepTheirOrigins() throws {
        let dir = try TemporaryDirectory()
        try dir.write("a.toml", profile("a", sysctl: ["net.ipv4.tcp_wmem": "1 2 3"]))
        try dir.write("b.toml", profile("b", include: ["a"]))
        try dir.write("c.toml", profile("c", include: ["b"]))
        let resolved = try ProfileLibrary(searchPath: ProfileSearchPath([.init(dir.path, .shipped)])).resolve("c")
        #expect(resolved.origins["net.ipv4.tcp_wmem"] == "a")
    }

    @Test func includeCyclesAreAnError() throws {
        let dir = try TemporaryDirectory()
        try dir.write("a.toml", profile("a", include: ["b"]))
        try dir.write("b.toml", profile("b", include: ["a"]))
        try dir.write("self.toml", profile("self", include: ["self"]))
        let library = ProfileLibrary(searchPath: ProfileSearchPath([.init(dir.path, .shipped)]))
        let cycle = #expect(throws: ProfileError.self) { try library.resolve("a") }
        #expect(cycle?.kind == .includeCycle)
        #expect(cycle?.message == "include cycle: a → b → a")
        #expect((#expect(throws: ProfileError.self) { try library.resolve("self") })?.kind == .includeCycle)
    }

    @Test func aDiamondIsNotACycle() throws {
        let dir = try TemporaryDirectory()
        try dir.write("base.toml", profile("base", sysctl: ["net.ipv4.tcp_wmem": "1 2 3"]))
        try dir.write("x.toml", profile("x", include: ["base"]))
        try dir.write("y.toml", profile("y", include: ["base"]))
        try dir.write("top.toml", profile("top", include: ["x", "y"]))
        let resolved = try ProfileLibrary(searchPath: ProfileSearchPath([.init(dir.path, .shipped)])).resolve("top")
        #expect(resolved.sysctls[.tcpWmem] == "1 2 3")
    }

    @Test func unknownNamesListTheKnownOnes() throws {
        let dir = try TemporaryDirectory()
        try dir.write("lan.toml", profile("lan"))
        let library = ProfileLibrary(searchPath: ProfileSearchPath([.init(dir.path, .shipped)]))
        let e = #expect(throws: ProfileError.self) { try library.resolve("wan") }
        #expect(e?.kind == .notFound)
        #expect(e?.fix?.contains("known profiles: lan") == true)
        let missingInclude = try TemporaryDirectory()
        try missingInclude.write("top.toml", profile("top", include: ["nowhere"]))
        let e2 = #expect(throws: ProfileError.self) {
            try ProfileLibrary(searchPath: ProfileSearchPath([.init(missingInclude.path, .shipped)])).resolve("top")
        }
        #expect(e2?.message == "no profile named 'nowhere'")
    }

    @Test func pathsAreLoadedDirectlyAndNamesCannotEscape() throws {
        let dir = try TemporaryDirectory()
        try dir.write("mine.toml", profile("mine"))
        let library = ProfileLibrary(searchPath: ProfileSearchPath([]))
        #expect(try library.resolve(dir.path + "/mine.toml").name == "mine")
        #expect((#expect(throws: ProfileError.self) { try library.resolve("..") })?.kind == .badName)
    }

    @Test func invalidFilesAreListedWithTheirError() throws {
        let dir = try TemporaryDirectory()
        try dir.write("broken.toml", "version = 1\n")
        let entries = ProfileLibrary(searchPath: ProfileSearchPath([.init(dir.path, .system)])).entries()
        guard case .failure(let error) = entries.first?.summary else {
            Issue.record("expected the broken profile to be listed with its error")
            return
        }
        #expect(error.key == "description")
    }

    /// Every shipped profile parses, resolves, and says who it is for.
    @Test func shippedProfilesAreValid() throws {
        let shipped = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("profiles").path
        let library = ProfileLibrary(searchPath: ProfileSearchPath([.init(shipped, .shipped)]))
        let names = library.entries().map(\.name)
        for expected in ["kernel-default", "pi-lan", "pi-wifi", "jumbo", "high-bdp", "low-memory"] {
            #expect(names.contains(expected), "missing shipped profile \(expected)")
        }
        for name in names {
            let resolved = try library.resolve(name)
            #expect(!resolved.description.isEmpty)
            let text = try String(contentsOfFile: "\(shipped)/\(name).toml", encoding: .utf8)
            #expect(text.hasPrefix("# \(name) — "), "\(name).toml must start with a comment saying who it is for")
        }
        #expect(try library.resolve("jumbo").link.mtu == 9000)
        #expect(try library.resolve("pi-lan").sysctls[.tcpWindowScaling] == "1")  // inherited from kernel-default
    }

    @Test func installedLayoutFindsShareNextToBin() throws {
        let prefix = try TemporaryDirectory()
        try prefix.write("share/nettune/profiles/x.toml", profile("x"))
        let path = ProfileSearchPath.standard(extra: ["/tmp/mine"], executable: prefix.path + "/bin/nettune", system: "/etc/nettune/profiles")
        #expect(path.directories.map(\.path) == ["/tmp/mine", "/etc/nettune/profiles", prefix.path + "/share/nettune/profiles"])
        #expect(path.directories.map(\.origin) == [.commandLine, .system, .shipped])
    }
}
