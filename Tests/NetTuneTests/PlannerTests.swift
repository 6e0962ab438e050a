import Testing

@testable import NetTune

@Suite struct PlannerTests {
    let veth = LinkInfo(index: 2, name: "veth0", mtu: 1500, minMTU: 68, maxMTU: 65535, adminUp: true)
    let pi = LinkInfo(index: 3, name: "eth0", mtu: 1500, minMTU: 68, maxMTU: 1500, adminUp: true)

    func store() -> FakeSysctlStore {
        FakeSysctlStore([
            .tcpWmem: "4096 16384 4194304", .tcpRmem: "4096 131072 6291456",
            .tcpMtuProbing: "0", .coreWmemMax: "4194304", .coreRmemMax: "4194304"
        ])
    }

    func planner(_ store: FakeSysctlStore, links: FakeLinkController? = nil) -> Planner<FakeSysctlStore, FakeLinkController> {
        Planner(store: store, links: links ?? FakeLinkController([veth, pi], defaultRoute: "veth0"), bootConfig: .none)
    }

    @Test func listsOnlyRealChangesSysctlsFirstThenMTU() throws {
        let profile = Profile(
            name: "p", description: "d",
            sysctls: [.tcpWmem: "4096 65536 4194304", .tcpRmem: "4096 131072 6291456", .tcpMtuProbing: "1"],
            link: LinkSettings(mtu: 9000))
        let plan = try planner(store()).plan(profile)
        #expect(
            plan.changes == [
                Change(.sysctl(.tcpMtuProbing), from: "0", to: "1"),
                Change(.sysctl(.tcpWmem), from: "4096 16384 4194304", to: "4096 65536 4194304"),
                Change(.mtu(interface: "veth0"), from: "1500", to: "9000")
            ])
        #expect(plan.unchanged == [Change(.sysctl(.tcpRmem), from: "4096 131072 6291456", to: "4096 131072 6291456")])
    }

    @Test func comparesWhitespaceInsensitively() throws {
        let s = store()
        s.values[.tcpWmem] = "4096\t16384\t4194304"
        let plan = try planner(s).plan(Profile(name: "p", description: "d", sysctls: [.tcpWmem: "4096 16384 4194304"]))
        #expect(plan.changes.isEmpty)
    }

    @Test func interfaceOptionOverridesTheProfileAndTheDefaultRoute() throws {
        let profile = Profile(name: "p", description: "d", link: LinkSettings(mtu: 1400, interface: "veth0"))
        let plan = try planner(store()).plan(profile, interface: "eth0")
        #expect(plan.changes == [Change(.mtu(interface: "eth0"), from: "1500", to: "1400")])
        #expect(try planner(store()).plan(profile).changes.first?.target == .mtu(interface: "veth0"))
    }

    /// `apply pi-lan --interface lo0` (no such interface, and a profile without an
    /// MTU) applied the sysctls and said nothing of the name.
    @Test func anInterfaceNamedForAProfileWithoutAnMTUMustExistAndIsSaidToChangeNothing() throws {
        let profile = Profile(name: "p", description: "d", sysctls: [.tcpWmem: "4096 65536 4194304"])
        #expect(throws: UnknownInterfaceError(name: "lo0", existing: ["veth0", "eth0"])) {
            try planner(store()).plan(profile, interface: "lo0")
        }
        let plan = try planner(store()).plan(profile, interface: "eth0")
        #expect(plan.changes == [Change(.sysctl(.tcpWmem), from: "4096 16384 4194304", to: "4096 65536 4194304")])
        #expect(plan.warnings.contains(TuningWarning("profile 'p' sets no MTU: the interface named (eth0) changes nothing")))
        #expect(try planner(store()).plan(profile).warnings.isEmpty)
    }

    @Test func mtuOutsideTheDeviceRangeIsRefusedBeforeAnyWrite() {
        let profile = Profile(name: "jumbo", description: "d", link: LinkSettings(mtu: 9000, interface: "eth0"))
        let e = #expect(throws: PlanError.self) { try planner(store()).plan(profile) }
        #expect(e?.kind == .mtuOutOfRange)
        #expect(e?.message == "MTU 9000 is outside what eth0 accepts (68–1500); choose a value in that range or another interface")
    }

    @Test func unknownInterfaceAndMissingDefaultRoute() {
        let profile = Profile(name: "p", description: "d", link: LinkSettings(mtu: 9000))
        let unknown = #expect(throws: UnknownInterfaceError.self) { try planner(store()).plan(profile, interface: "wlan0") }
        #expect(unknown?.existing == ["veth0", "eth0"])
        let noRoute = #expect(throws: PlanError.self) {
            try planner(store(), links: FakeLinkController([veth])).plan(profile)
        }
        #expect(noRoute?.kind == .noInterface)
    }

    @Test func missingAndReadOnlyKeysAreRefused() {
        let missing = #expect(throws: PlanError.self) {
            try planner(store()).plan(Profile(name: "p", description: "d", sysctls: [.tcpMem: "1 2 3"]))
        }
        #expect(missing?.kind == .missingKey)
        let s = store()
        s.readOnly = [.coreRmemMax]
        let readOnly = #expect(throws: PlanError.self) {
            try planner(s).plan(Profile(name: "p", description: "d", sysctls: [.coreRmemMax: "8388608"]))
        }
        #expect(readOnly?.kind == .readOnlyKey)
        // A read-only key that already has the wanted value is fine.
        #expect(throws: Never.self) {
            try planner(s).plan(Profile(name: "p", description: "d", sysctls: [.coreRmemMax: "4194304"]))
        }
    }

    @Test func warnsWhenTheTcpMaxIsAboveTheCoreCap() throws {
        let plan = try planner(store()).plan(Profile(name: "p", description: "d", sysctls: [.tcpRmem: "4096 131072 16777216"]))
        #expect(plan.warnings.count == 1)
        #expect(plan.warnings.first?.message.hasPrefix("net.ipv4.tcp_rmem max 16 MiB is above net.core.rmem_max 4 MiB") == true)
        let fine = try planner(store()).plan(Profile(name: "p", description: "d", sysctls: [.tcpRmem: "4096 131072 4194304"]))
        #expect(fine.warnings.isEmpty)
    }

    @Test func warnsAboutBootTimeConfigurationThatWouldWin() throws {
        let dir = try TemporaryDirectory()
        try dir.write("sysctl.d/99-tuning.conf", "# mine\nnet.ipv4.tcp_wmem = 4096 16384 16777216\n-net.ipv4.tcp_mtu_probing=1\nkernel.x = 1\n")
        try dir.write("sysctl.d/README", "net.ipv4.tcp_wmem = 1 2 3\n")
        let boot = BootSysctlConfig(directories: [dir.path + "/sysctl.d"], files: [dir.path + "/sysctl.conf"])
        let p = Planner(store: store(), links: FakeLinkController([veth], defaultRoute: "veth0"), bootConfig: boot)
        let plan = try p.plan(
            Profile(
                name: "p", description: "d",
                sysctls: [.tcpWmem: "4096 65536 4194304", .tcpMtuProbing: "1"]))
        #expect(
            plan.warnings.map(\.message) == [
                "\(dir.path)/sysctl.d/99-tuning.conf sets net.ipv4.tcp_wmem = 4096 16384 16777216 at boot, which replaces 4096 65536 4194304 after a reboot; edit that file to keep the new value across reboots"
            ])
    }
}

@Suite struct TuningExecutorTests {
    let links = [
        LinkInfo(index: 2, name: "veth0", mtu: 1500, adminUp: true),
        LinkInfo(index: 3, name: "veth1", mtu: 1500, adminUp: true)
    ]
    let changes = [
        Change(.sysctl(.tcpMtuProbing), from: "0", to: "1"),
        Change(.sysctl(.tcpRmem), from: "4096 131072 6291456", to: "4096 131072 8388608"),
        Change(.mtu(interface: "veth0"), from: "1500", to: "9000"),
        Change(.sysctl(.tcpWmem), from: "4096 16384 4194304", to: "4096 65536 4194304"),
        Change(.mtu(interface: "veth1"), from: "1500", to: "9000")
    ]

    func store() -> FakeSysctlStore {
        FakeSysctlStore([.tcpWmem: "4096 16384 4194304", .tcpRmem: "4096 131072 6291456", .tcpMtuProbing: "0"])
    }

    @Test func appliesEverything() throws {
        let s = store(), l = FakeLinkController(links)
        try TuningExecutor(store: s, links: l).execute(changes)
        #expect(s.values[.tcpWmem] == "4096 65536 4194304")
        #expect(l.current.map(\.mtu) == [9000, 9000])
    }

    /// Whichever step fails, the state afterwards is exactly the state before.
    @Test(arguments: 0..<5)
    func aFailureAtAnyStepLeavesEverythingAsBefore(failingStep: Int) throws {
        let s = store(), l = FakeLinkController(links)
        let before = (s.values, l.current)
        // Steps 0, 1, 3 are sysctl writes 0, 1, 2; steps 2 and 4 are MTU calls 0 and 1.
        let sysctlSteps = [0: 0, 1: 1, 3: 2], mtuSteps = [2: 0, 4: 1]
        s.failOnWriteCall = sysctlSteps[failingStep]
        l.failOnSetMTUCall = mtuSteps[failingStep]
        let error = #expect(throws: ApplyError.self) { try TuningExecutor(store: s, links: l).execute(changes) }
        #expect(error?.failed == changes[failingStep])
        #expect(error?.undone == failingStep)
        #expect(error?.rollbackFailures.isEmpty == true)
        #expect(s.values == before.0)
        #expect(l.current == before.1)
    }

    @Test func errorNamesTheFailingSettingAndWhatWasUndone() {
        let s = store(), l = FakeLinkController(links)
        l.failOnSetMTUCall = 0
        let error = #expect(throws: ApplyError.self) { try TuningExecutor(store: s, links: l).execute(Array(changes.prefix(3))) }
        #expect(error?.description.hasPrefix("setting mtu of veth0 to 9000 failed: rtnl_link_change (mtu 9000) on veth0 failed") == true)
        #expect(error?.description.hasSuffix("the 2 changes made before it were undone, nothing is changed") == true)
    }
}
