import Testing

@testable import NetTune

@Suite struct ProfileParserTests {
    private func parse(_ text: String) throws(ProfileError) -> Profile {
        try ProfileParser.parse(text, name: "test", path: "test.toml")
    }

    private func error(_ text: String) -> ProfileError? {
        #expect(throws: ProfileError.self) { try parse(text) }
    }

    @Test func parsesAFullProfile() throws {
        let profile = try parse(
            """
            # a comment
            version = 1
            description = "For tests"
            include = ["kernel-default", "other"]

            [sysctl]
            net.ipv4.tcp_wmem = "4096\t87380   6291456"
            net.core.wmem_max = 4194304
            "net.ipv4.tcp_rmem" = "4096 131072 6291456"

            [link]
            mtu = 9000
            interface = "eth0"
            """)
        #expect(profile.version == 1)
        #expect(profile.description == "For tests")
        #expect(profile.includes == ["kernel-default", "other"])
        #expect(
            profile.sysctls == [
                .tcpWmem: "4096 87380 6291456",
                .coreWmemMax: "4194304",
                .tcpRmem: "4096 131072 6291456"
            ])
        #expect(profile.link == LinkSettings(mtu: 9000, interface: "eth0"))
    }

    @Test func nestedTablesFlattenToDottedKeys() throws {
        let profile = try parse(
            """
            version = 1
            description = "x"
            [sysctl.net.ipv4]
            tcp_mtu_probing = 1
            """)
        #expect(profile.sysctls == [.tcpMtuProbing: "1"])
    }

    @Test func linkAndIncludeAreOptional() throws {
        let profile = try parse("version = 1\ndescription = \"x\"\n")
        #expect(profile.includes.isEmpty)
        #expect(profile.sysctls.isEmpty)
        #expect(profile.link == LinkSettings())
    }

    @Test func syntaxErrorsCarryTomlKitsLine() {
        let e = error("version = 1\ndescription = \"x\"\n[sysctl]\nnet.ipv4.tcp_wmem = \n")
        #expect(e?.kind == .syntax)
        #expect(e?.line == 4)
        #expect(e?.description.hasPrefix("test.toml:4: invalid TOML") == true)
    }

    @Test func unknownTopLevelKeyIsRefusedWithItsLine() {
        let e = error("version = 1\ndescription = \"x\"\nmtu = 9000\n")
        #expect(e?.kind == .unknownKey)
        #expect(e?.key == "mtu")
        #expect(e?.line == 3)
        #expect(e?.fix?.contains("[sysctl] and [link]") == true)
    }

    @Test func unknownLinkKeyIsRefused() {
        let e = error("version = 1\ndescription = \"x\"\n[link]\nmtu = 1500\nspeed = 1000\n")
        #expect(e?.kind == .unknownKey)
        #expect(e?.key == "link.speed")
        #expect(e?.line == 5)
    }

    @Test func keysOutsideNetAreRefused() {
        let e = error("version = 1\ndescription = \"x\"\n[sysctl]\nvm.swappiness = 10\n")
        #expect(e?.kind == .unknownKey)
        #expect(e?.key == "vm.swappiness")
        #expect(e?.line == 4)
        #expect(e?.description.contains("outside net.") == true)
    }

    @Test func malformedTriplesAreRefused() {
        let disordered = error("version = 1\ndescription = \"x\"\n[sysctl]\nnet.ipv4.tcp_rmem = \"4096 8388608 4194304\"\n")
        #expect(disordered?.kind == .badValue)
        #expect(disordered?.key == "net.ipv4.tcp_rmem")
        #expect(disordered?.line == 4)
        #expect(disordered?.description.contains("min ≤ default ≤ max") == true)

        let short = error("version = 1\ndescription = \"x\"\n[sysctl]\nnet.ipv4.tcp_wmem = \"4096 16384\"\n")
        #expect(short?.kind == .badValue)
        #expect(short?.key == "net.ipv4.tcp_wmem")
    }

    @Test func valuesMustBeStringsOrIntegers() {
        let e = error("version = 1\ndescription = \"x\"\n[sysctl]\nnet.ipv4.tcp_mtu_probing = true\n")
        #expect(e?.kind == .badValue)
        #expect(e?.message.contains("string or an integer") == true)
    }

    @Test(arguments: [67, 65536, 0, -1])
    func mtuOutsideTheValidRangeIsRefused(mtu: Int) {
        let e = error("version = 1\ndescription = \"x\"\n[link]\nmtu = \(mtu)\n")
        #expect(e?.kind == .badValue)
        #expect(e?.key == "link.mtu")
        #expect(e?.line == 4)
    }

    @Test func newerVersionIsRefused() {
        let e = error("version = 2\ndescription = \"x\"\n")
        #expect(e?.kind == .badVersion)
        #expect(e?.line == 1)
        #expect(e?.message.contains("newer") == true)
    }

    @Test func missingVersionIsRefused() {
        let e = error("description = \"x\"\n")
        #expect(e?.kind == .badVersion)
        #expect(e?.fix == "add `version = 1` at the top")
    }

    @Test func descriptionIsRequired() {
        #expect(error("version = 1\n")?.key == "description")
    }

    /// The description is printed and written into boot configuration (`export`):
    /// one line of plain text, no escape sequence, no line break.
    @Test(arguments: [#"x\u001b[31m"#, #"x\ny"#, #"x\ry"#, #"x\u202Ey"#, String(repeating: "x", count: 1001)])
    func descriptionIsOneLineOfPlainText(text: String) {
        let e = error("version = 1\ndescription = \"\(text)\"\n")
        #expect(e?.key == "description", "\(String(describing: e))")
        #expect(e?.description.hasPrefix("test.toml:2: description:") == true)
    }

    @Test func includeMustListPlainNames() {
        #expect(error("version = 1\ndescription = \"x\"\ninclude = \"kernel-default\"\n")?.key == "include")
        #expect(error("version = 1\ndescription = \"x\"\ninclude = [\"../etc/x\"]\n")?.key == "include")
        #expect(error("version = 1\ndescription = \"x\"\ninclude = [1]\n")?.key == "include")
    }

    @Test func interfaceMustBeAnInterfaceName() {
        #expect(error("version = 1\ndescription = \"x\"\n[link]\ninterface = \"a/b\"\n")?.key == "link.interface")
        #expect(error("version = 1\ndescription = \"x\"\n[link]\ninterface = \"much-too-long-name\"\n")?.key == "link.interface")
    }
}

@Suite struct ProfileReferenceTests {
    @Test func namesAndPaths() throws {
        #expect(try ProfileReference("pi-lan") == .name("pi-lan"))
        #expect(try ProfileReference("./mine.toml") == .file("./mine.toml"))
        #expect(try ProfileReference("mine.toml") == .file("mine.toml"))
        #expect(try ProfileReference("/etc/x/y") == .file("/etc/x/y"))
    }

    @Test(arguments: ["..", ".hidden", "-rf", "pi lan", "pi*", ""])
    func refusesNamesThatAreNotPlainWords(name: String) {
        #expect(throws: ProfileError.self) { try ProfileReference(name) }
    }
}
