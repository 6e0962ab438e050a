import SystemPackage
import Testing

@testable import NetTune
@testable import NetTuneCommands

@Suite struct ShowOutputTests {
    private func overview() throws -> NetworkOverview {
        let root = try TemporaryDirectory()
        try root.write("net/ipv4/tcp_wmem", "4096\t65536\t8388608\n")
        try root.write("net/ipv4/tcp_rmem", "4096\t131072\t6291456\n")
        try root.write("net/core/wmem_max", "212992\n")
        let links = FakeLinkController(
            [
                LinkInfo(
                    index: 1, name: "lo", mtu: 65536, adminUp: true, operState: .unknown,
                    qdisc: Qdisc(kind: "noqueue")),
                LinkInfo(
                    index: 2, name: "eth0", mtu: 1500, minMTU: 68, maxMTU: 9000, adminUp: true,
                    operState: .up, qdisc: Qdisc(kind: "tbf", rateBitsPerSecond: 100_000_000), txQueueLength: 1000,
                    addresses: ["10.0.0.1/24", "fe80::1/64"], speedBitsPerSecond: 1e9, duplex: "full", physical: true)
            ], defaultRoute: "eth0")
        var overview = try NetworkOverview.read(
            sysctls: ProcSysStore(root: FilePath(root.path)), links: links,
            keys: [.tcpWmem, .tcpRmem, .coreWmemMax, .tcpMem])
        overview.namespaceInode = 4_026_531_840
        return overview
    }

    /// The README documents this shape; changing it breaks users' scripts.
    @Test func jsonShapeIsPinned() throws {
        let json = try JSONOutput.encode(ShowJSON(try overview()))
        #expect(
            json == """
                {
                  "default_route_interface" : "eth0",
                  "links" : [
                    {
                      "addresses" : [],
                      "duplex" : null,
                      "index" : 1,
                      "max_mtu" : null,
                      "min_mtu" : null,
                      "mtu" : 65536,
                      "name" : "lo",
                      "operstate" : "unknown",
                      "physical" : false,
                      "qdisc" : "noqueue",
                      "rate_bps" : null,
                      "speed_bps" : null,
                      "txqueuelen" : null,
                      "up" : true
                    },
                    {
                      "addresses" : [
                        "10.0.0.1/24",
                        "fe80::1/64"
                      ],
                      "duplex" : "full",
                      "index" : 2,
                      "max_mtu" : 9000,
                      "min_mtu" : 68,
                      "mtu" : 1500,
                      "name" : "eth0",
                      "operstate" : "up",
                      "physical" : true,
                      "qdisc" : "tbf",
                      "rate_bps" : 100000000,
                      "speed_bps" : 1000000000,
                      "txqueuelen" : 1000,
                      "up" : true
                    }
                  ],
                  "netns_inode" : 4026531840,
                  "sysctls" : {
                    "net.core.wmem_max" : "212992",
                    "net.ipv4.tcp_mem" : null,
                    "net.ipv4.tcp_rmem" : "4096 131072 6291456",
                    "net.ipv4.tcp_wmem" : "4096 65536 8388608"
                  }
                }
                """)
    }

    @Test func tableMarksTheDefaultRouteAndExplainsBuffers() throws {
        let text = ShowTable.render(try overview())
        #expect(text.contains("eth0 *"))
        #expect(text.contains("* carries the default route"))
        #expect(text.contains("min 4 KiB · default 64 KiB · max 8 MiB"))
        #expect(text.contains("net.ipv4.tcp_mem"))
        #expect(text.contains("not present in this network namespace"))
        #expect(text.contains("68–9000"))
        #expect(text.contains("100 Mbit/s"))
        #expect(text.contains("1 Gbit/s full"))
        #expect(text.contains("10.0.0.1/24 fe80::1/64"))
    }

    @Test func unknownInterfaceListsTheExistingOnes() throws {
        let links = FakeLinkController([
            LinkInfo(index: 1, name: "lo", mtu: 65536, adminUp: true),
            LinkInfo(index: 2, name: "eth0", mtu: 1500, adminUp: true)
        ])
        let root = try TemporaryDirectory()
        let error = #expect(throws: UnknownInterfaceError.self) {
            try NetworkOverview.read(sysctls: ProcSysStore(root: FilePath(root.path)), links: links, interface: "wlan0")
        }
        #expect(error?.description == "no interface named 'wlan0' in this network namespace; existing interfaces: lo, eth0")
    }

    @Test func interfaceOptionKeepsOnlyThatLink() throws {
        let links = FakeLinkController([
            LinkInfo(index: 1, name: "lo", mtu: 65536, adminUp: true),
            LinkInfo(index: 2, name: "eth0", mtu: 1500, adminUp: true)
        ])
        let root = try TemporaryDirectory()
        let overview = try NetworkOverview.read(sysctls: ProcSysStore(root: FilePath(root.path)), links: links, interface: "eth0")
        #expect(overview.links.map(\.name) == ["eth0"])
    }

    @Test func showHelpIsPinned() {
        #expect(
            NetTuneCommand.helpMessage(for: NetTuneCommand.Show.self, columns: 100) == """
                OVERVIEW: Show TCP buffer sysctls and every interface's MTU, state and qdisc.

                Reads /proc/sys and netlink (libnl-route-3) of the current network namespace. Needs no privileges.

                USAGE: nettune show [--interface <name>] [--json]

                OPTIONS:
                  --interface <name>      Only list this interface.
                  -J, --json              Print machine-readable JSON (documented in the README) instead of a table.
                  --version               Show the version.
                  -h, --help              Show help information.

                """)
    }
}

@Suite struct SysfsLinkReaderTests {
    @Test func readsWhatTheDriverReportsAndNothingElse() throws {
        let root = try TemporaryDirectory()
        try root.write("eth0/speed", "1000\n")
        try root.write("eth0/duplex", "full\n")
        try root.write("eth0/device/uevent", "")
        try root.write("wlan0/speed", "-1\n")
        try root.write("wlan0/duplex", "unknown\n")
        let eth = SysfsLinkReader.read("eth0", root: FilePath(root.path))
        #expect(eth == SysfsLinkReader.Facts(speed: 1e9, duplex: "full", physical: true))
        let wlan = SysfsLinkReader.read("wlan0", root: FilePath(root.path))
        #expect(wlan == SysfsLinkReader.Facts(speed: nil, duplex: nil, physical: false))
        #expect(SysfsLinkReader.read("../etc", root: FilePath(root.path)).speed == nil)
        #expect(SysfsLinkReader.read("missing", root: FilePath(root.path)).physical == false)
    }

    /// Only an address a device was made with identifies it across reboots.
    @Test func aPermanentHardwareAddressIsAPhysicalDevicesOwn() throws {
        let root = try TemporaryDirectory()
        func device(_ name: String, address: String, assigned: String, physical: Bool = true) throws {
            try root.write("\(name)/address", address + "\n")
            try root.write("\(name)/addr_assign_type", assigned + "\n")
            if physical { try root.write("\(name)/device/uevent", "") }
        }
        try device("enp3s0", address: "DC:A6:32:01:02:03", assigned: "0")
        try device("wlan0", address: "12:34:56:78:9a:bc", assigned: "1")  // randomised
        try device("br0", address: "02:00:00:00:00:01", assigned: "0", physical: false)
        try device("odd0", address: "dc:a6:32:01:02", assigned: "0")
        try device("zero0", address: "00:00:00:00:00:00", assigned: "0")
        let read = { SysfsLinkReader.permanentHardwareAddress($0, root: FilePath(root.path)) }
        #expect(read("enp3s0") == "dc:a6:32:01:02:03")
        for name in ["wlan0", "br0", "odd0", "zero0", "missing", "../enp3s0"] { #expect(read(name) == nil, "\(name)") }
    }
}

/// `export --format networkd`: a .link file that matches the device at boot and
/// leaves its name as it is.
@Suite struct NetworkdLinkExportTests {
    let jumbo = Profile(name: "jumbo", description: "d", link: LinkSettings(mtu: 9000))

    /// enp3s0 was eth0 when the kernel made it: `OriginalName=enp3s0` would never match.
    @Test func aDeviceWithAHardwareAddressIsMatchedByItAndKeepsItsName() {
        let text = BootConfigExport.networkdLink(jumbo, interface: "enp3s0", hardwareAddress: "dc:a6:32:01:02:03")
        #expect(text.contains("[Match]\nMACAddress=dc:a6:32:01:02:03\n\n[Link]\nName=enp3s0\nMTUBytes=9000\n"))
        #expect(!text.contains("OriginalName"))
        #expect(text.contains("/etc/systemd/network/10-nettune-enp3s0.link"))
    }

    /// Without one, the kernel's name, and 99-default.link's policies (the first
    /// matching file is the only one applied).
    @Test func withoutOneTheKernelsNameAndTheDefaultPolicies() {
        let text = BootConfigExport.networkdLink(jumbo, interface: "br0", hardwareAddress: nil)
        #expect(text.contains("[Match]\nOriginalName=br0\n"))
        #expect(text.contains("NamePolicy=keep kernel database onboard slot path\n"))
        #expect(text.contains("MACAddressPolicy=persistent\n"))
        #expect(text.hasSuffix("MTUBytes=9000\n"))
    }
}

/// An interface may be named with control characters (the kernel refuses only '/',
/// ':' and spaces): what nettune prints, records and sends a peer carries `?`
/// instead, so no escape sequence reaches a terminal, a history or a server's
/// client (whose decoder refuses control characters).
@Suite struct ControlCharacterNameTests {
    @Test func tablesPrintControlCharactersAsQuestionMarks() {
        let table = TextTable.render([["NAME", "MTU"], ["x\u{1B}[31m", "1500"], ["bell\u{7}", "9000"]])
        #expect(table == "  NAME    MTU\n  x?[31m  1500\n  bell?   9000\n")
    }

    @Test func theTuningStateNamesTheEgressSafely() throws {
        let state = try TemporaryDirectory()
        let links = FakeLinkController([LinkInfo(index: 2, name: "x\u{1B}[2J", mtu: 1500, adminUp: true)], defaultRoute: "x\u{1B}[2J")
        links.addresses = ["10.0.0.1": "x\u{1B}[2J"]
        let machine = LocalMachine(
            store: FakeSysctlStore([:]), links: links, sysfsNet: FilePath(state.path + "/nosys"), kernel: "test", snapshots: nil, namespace: nil)
        let tuning = machine.tuningState(localAddress: "10.0.0.1")
        #expect(tuning.interface == "x?[2J")
        #expect(tuning.mtu == 1500)
        // What the server sends of it, its clients decode.
        let ready = ProbeMessage.ready(session: SessionID(bytes: [UInt8](repeating: 1, count: ProbeWire.sessionIDLength)), streams: 1, tuning: tuning)
        #expect(try ProbeMessage.decode(ready.encoded())?.message == ready)
    }
}
