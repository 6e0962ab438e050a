import Testing

@testable import NetTune

@Suite struct SysctlKeyTests {
    @Test func dottedAndPathFormsAreTheSameKey() throws {
        let dotted = try SysctlKey("net.ipv4.tcp_wmem")
        let path = try SysctlKey("net/ipv4/tcp_wmem")
        #expect(dotted == path)
        #expect(dotted.name == "net.ipv4.tcp_wmem")
        #expect(dotted.relativePath == "net/ipv4/tcp_wmem")
    }

    @Test func slashInDottedFormIsADotInTheComponent() throws {
        let vlan = try SysctlKey("net.ipv4.conf.eth0/100.forwarding")
        #expect(vlan.relativePath == "net/ipv4/conf/eth0.100/forwarding")
        #expect(vlan.name == "net.ipv4.conf.eth0/100.forwarding")
        #expect(try SysctlKey("net/ipv4/conf/eth0.100/forwarding") == vlan)
    }

    @Test func surroundingWhitespaceIsIgnored() throws {
        #expect(try SysctlKey("  net.core.wmem_max\n").name == "net.core.wmem_max")
    }

    @Test(arguments: [
        ("net/../kernel/hostname", SysctlKeyError.Reason.escapes),
        ("net/ipv4/../../kernel/hostname", .escapes),
        ("net/./ipv4/tcp_wmem", .escapes),
        ("../net/ipv4/tcp_wmem", .escapes),
        ("/proc/sys/net/ipv4/tcp_wmem", .absolutePath),
        ("kernel.hostname", .notNetwork),
        ("vm.swappiness", .notNetwork),
        ("net", .notNetwork),
        ("net..ipv4", .emptyComponent),
        ("net.ipv4.", .emptyComponent),
        ("", .empty),
        ("net.ipv4.tcp wmem", .badCharacter(" ")),
        ("net.ipv4.tcp_wmem\u{0}", .badCharacter("\u{0}"))
    ])
    func refusesKeysThatLeaveNetOrAreMalformed(text: String, reason: SysctlKeyError.Reason) {
        #expect(throws: SysctlKeyError(key: text, reason: reason)) { try SysctlKey(text) }
    }

    @Test func errorsSayWhatToDo() {
        let error = SysctlKeyError(key: "kernel.hostname", reason: .notNetwork)
        #expect(error.description.contains("outside net."))
    }

    @Test func showListsTheBufferKeysAndTheirNeighbours() {
        let names = SysctlKey.shown.map(\.name)
        #expect(names.first == "net.ipv4.tcp_wmem")
        #expect(names.contains("net.core.rmem_max"))
        #expect(names.contains("net.core.default_qdisc"))
        // What the shipped profiles change is shown (and fingerprinted) too.
        #expect(names.contains("net.ipv4.tcp_slow_start_after_idle"))
        #expect(names.contains("net.ipv4.tcp_moderate_rcvbuf"))
        #expect(names.count == 13)
    }
}
