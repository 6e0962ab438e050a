import Foundation
import Testing

/// `nettune show` run for real inside throw-away namespaces, checked against what
/// the kernel reports through `ip -j` and /proc/sys.
@Suite(.enabled(if: TestEnvironment.isRoot, TestEnvironment.rootReason))
struct ShowIntegrationTests {
    private func decode(_ json: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    }

    private func link(_ report: [String: Any], named name: String) throws -> [String: Any] {
        let links = try #require(report["links"] as? [[String: Any]])
        return try #require(links.first { $0["name"] as? String == name })
    }

    /// The kernel lets an interface be named with control characters: the table
    /// prints them as `?` (no escape sequence reaches the terminal, the columns
    /// hold), the JSON keeps the real name, escaped.
    @Test func anInterfaceNamedWithAnEscapeSequenceIsShownSafely() throws {
        try Lab.with { lab in
            try lab.check(in: lab.nsA, ["ip", "link", "add", "x\u{1B}[31m", "type", "veth", "peer", "name", "bell\u{7}"])
            let table = try lab.nettune(in: lab.nsA, ["show"])
            #expect(table.status == 0, "\(table.stderr)")
            #expect(!table.stdout.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" })
            #expect(table.stdout.contains("x?[31m") && table.stdout.contains("bell?"))
            let json = try lab.nettune(in: lab.nsA, ["show", "--json"])
            _ = try link(try decode(json.stdout), named: "x\u{1B}[31m")
        }
    }

    @Test func reportsExactlyWhatTheKernelHolds() throws {
        try Lab.with { lab in
            try lab.check(in: lab.nsA, ["ip", "link", "set", "dev", lab.ifA, "mtu", "9000"])
            try lab.check(in: lab.nsA, ["sysctl", "-q", "-w", "net.ipv4.tcp_wmem=4096 65536 8388608"])

            let result = try lab.nettune(in: lab.nsA, ["show", "--json"])
            #expect(result.status == 0, "\(result.stderr)")
            let report = try decode(result.stdout)
            let sysctls = try #require(report["sysctls"] as? [String: Any])

            #expect(sysctls["net.ipv4.tcp_wmem"] as? String == "4096 65536 8388608")
            #expect(sysctls["net.ipv4.tcp_wmem"] as? String == (try lab.sysctl(in: lab.nsA, "net/ipv4/tcp_wmem")))
            #expect(sysctls["net.ipv4.tcp_rmem"] as? String == (try lab.sysctl(in: lab.nsA, "net/ipv4/tcp_rmem")))
            #expect(
                sysctls["net.ipv4.tcp_congestion_control"] as? String
                    == (try lab.sysctl(in: lab.nsA, "net/ipv4/tcp_congestion_control")))
            // Keys absent from a namespace are null, not missing.
            let hasTcpMem = try lab.run(in: lab.nsA, ["test", "-e", "/proc/sys/net/ipv4/tcp_mem"]).status == 0
            if !hasTcpMem {
                #expect(sysctls.keys.contains("net.ipv4.tcp_mem"))
                #expect(sysctls["net.ipv4.tcp_mem"] is NSNull)
            }

            let veth = try link(report, named: lab.ifA)
            let kernel = try lab.linkDetails(in: lab.nsA, lab.ifA)
            #expect(veth["mtu"] as? Int == 9000)
            #expect(veth["mtu"] as? Int == kernel["mtu"] as? Int)
            #expect(veth["min_mtu"] as? Int == kernel["min_mtu"] as? Int)
            #expect(veth["max_mtu"] as? Int == kernel["max_mtu"] as? Int)
            #expect(veth["index"] as? Int == kernel["ifindex"] as? Int)
            #expect(veth["up"] as? Bool == true)
            #expect(report["default_route_interface"] as? String == lab.ifA)
        }
    }

    /// What decides whether tuning can matter: addresses, txqueuelen, the driver's
    /// speed, and the two sysctls the shipped profiles change.
    @Test func reportsAddressesQueueLengthSpeedAndTheProfilesOtherSysctls() throws {
        try Lab.with { lab in
            try lab.check(in: lab.nsA, ["ip", "link", "set", "dev", lab.ifA, "txqueuelen", "321"])
            try lab.check(in: lab.nsA, ["sysctl", "-q", "-w", "net.ipv4.tcp_slow_start_after_idle=0"])
            let result = try lab.nettune(in: lab.nsA, ["show", "--json"])
            #expect(result.status == 0, "\(result.stderr)")
            let report = try decode(result.stdout)
            let veth = try link(report, named: lab.ifA)
            #expect(veth["txqueuelen"] as? Int == 321)
            #expect((veth["addresses"] as? [String])?.first == "\(lab.addrA)/24")
            // A veth reports 10 Gbit/s full duplex in sysfs, and no device backs it.
            let sysfsSpeed = try lab.run(in: lab.nsA, ["cat", "/sys/class/net/\(lab.ifA)/speed"]).stdout
            #expect((veth["speed_bps"] as? Double).map { Int($0 / 1e6) } == Int(sysfsSpeed.trimmingCharacters(in: .whitespacesAndNewlines)))
            #expect(veth["physical"] as? Bool == false)
            let lo = try link(report, named: "lo")
            #expect(lo["addresses"] as? [String] == ["127.0.0.1/8", "::1/128"])
            #expect(lo["speed_bps"] is NSNull)
            let sysctls = try #require(report["sysctls"] as? [String: Any])
            #expect(sysctls["net.ipv4.tcp_slow_start_after_idle"] as? String == "0")
            #expect(sysctls["net.ipv4.tcp_moderate_rcvbuf"] as? String == (try lab.sysctl(in: lab.nsA, "net/ipv4/tcp_moderate_rcvbuf")))
        }
    }

    @Test func reportsTheTbfRate() throws {
        try Lab.with(rateB: "100mbit") { lab in
            let result = try lab.nettune(in: lab.nsB, ["show", "--json", "--interface", lab.ifB])
            #expect(result.status == 0, "\(result.stderr)")
            let report = try decode(result.stdout)
            let links = try #require(report["links"] as? [[String: Any]])
            #expect(links.count == 1)
            let veth = try link(report, named: lab.ifB)
            #expect(veth["qdisc"] as? String == "tbf")
            #expect(veth["rate_bps"] as? Int == 100_000_000)
            // The unshaped side has no shaper.
            let other = try decode(try lab.nettune(in: lab.nsA, ["show", "--json"]).stdout)
            #expect(try link(other, named: lab.ifA)["rate_bps"] is NSNull)
        }
    }

    @Test func reportsAnHtbShaperRate() throws {
        try Lab.with { lab in
            try lab.check(in: lab.nsA, ["tc", "qdisc", "add", "dev", lab.ifA, "root", "handle", "1:", "htb", "default", "10"])
            try lab.check(
                in: lab.nsA,
                [
                    "tc", "class", "add", "dev", lab.ifA, "parent", "1:", "classid", "1:10",
                    "htb", "rate", "250mbit", "ceil", "250mbit"
                ])
            let report = try decode(try lab.nettune(in: lab.nsA, ["show", "--json"]).stdout)
            let veth = try link(report, named: lab.ifA)
            #expect(veth["qdisc"] as? String == "htb")
            #expect(veth["rate_bps"] as? Int == 250_000_000)
        }
    }

    @Test func unknownInterfaceFailsAndNamesTheExistingOnes() throws {
        try Lab.with { lab in
            let result = try lab.nettune(in: lab.nsA, ["show", "--interface", "nosuch"])
            #expect(result.status != 0)
            #expect(result.stderr.contains("no interface named 'nosuch'"))
            #expect(result.stderr.contains("lo"))
            #expect(result.stderr.contains(lab.ifA))
            #expect(result.stdout.isEmpty)
        }
    }

    @Test func worksWithoutPrivileges() throws {
        // Copy the binary where the unprivileged user can surely execute it.
        let directory = try FileManager.default.url(
            for: .itemReplacementDirectory, in: .userDomainMask,
            appropriateFor: URL(fileURLWithPath: "/tmp"), create: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let copy = directory.appendingPathComponent("nettune")
        try FileManager.default.copyItem(atPath: TestEnvironment.binary, toPath: copy.path)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory.path)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: copy.path)

        try Lab.with(rateA: "1gbit") { lab in
            let asNobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", copy.path]
            let table = try lab.run(in: lab.nsA, asNobody + ["show"])
            #expect(table.status == 0, "\(table.stderr)")
            #expect(table.stdout.contains("net.ipv4.tcp_wmem"))
            #expect(table.stdout.contains(lab.ifA))

            let json = try lab.run(in: lab.nsA, asNobody + ["show", "--json"])
            #expect(json.status == 0, "\(json.stderr)")
            let report = try decode(json.stdout)
            #expect(try link(report, named: lab.ifA)["rate_bps"] as? Int == 1_000_000_000)
        }
    }
}
