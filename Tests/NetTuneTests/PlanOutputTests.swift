import Testing

@testable import NetTune
@testable import NetTuneCommands

@Suite struct PlanOutputTests {
    let plan = Plan(
        profile: "pi-lan",
        changes: [
            Change(.sysctl(.tcpWmem), from: "4096 16384 4194304", to: "4096 131072 4194304"),
            Change(.mtu(interface: "eth0"), from: "1500", to: "9000")
        ],
        unchanged: [Change(.sysctl(.tcpWindowScaling), from: "1", to: "1")],
        warnings: [TuningWarning("something to know")])

    /// The README documents this shape.
    @Test func planJSONShapeIsPinned() throws {
        #expect(
            try JSONOutput.encode(PlanJSON(plan, outcome: .applied, snapshot: "/var/lib/nettune/netns-1.json")) == """
                {
                  "changes" : [
                    {
                      "from" : "4096 16384 4194304",
                      "interface" : null,
                      "kind" : "sysctl",
                      "setting" : "net.ipv4.tcp_wmem",
                      "to" : "4096 131072 4194304"
                    },
                    {
                      "from" : "1500",
                      "interface" : "eth0",
                      "kind" : "mtu",
                      "setting" : "mtu",
                      "to" : "9000"
                    }
                  ],
                  "outcome" : "applied",
                  "profile" : "pi-lan",
                  "snapshot" : "/var/lib/nettune/netns-1.json",
                  "unchanged" : [
                    {
                      "from" : "1",
                      "interface" : null,
                      "kind" : "sysctl",
                      "setting" : "net.ipv4.tcp_window_scaling",
                      "to" : "1"
                    }
                  ],
                  "warnings" : [
                    "something to know"
                  ]
                }
                """)
    }

    @Test func verifyJSONSaysWhetherEverythingMatches() throws {
        let json = try JSONOutput.encode(VerifyJSON(plan))
        #expect(json.contains(#""matches" : false"#))
        #expect(json.contains(#""differences" : ["#))
        #expect(try JSONOutput.encode(VerifyJSON(Plan(profile: "x", changes: []))).contains(#""matches" : true"#))
    }

    @Test func dryRunTextShowsEveryChange() {
        let text = PlanOutput.render(plan, outcome: .dryRun, snapshot: nil)
        #expect(
            text == """
                Profile pi-lan: 2 changes
                  net.ipv4.tcp_wmem  4096 16384 4194304  →  4096 131072 4194304
                  mtu of eth0        1500                →  9000
                  already set: net.ipv4.tcp_window_scaling
                Dry run: nothing was changed.

                """)
    }

    @Test func resolvedProfileIsValidTOMLWithOrigins() throws {
        let profile = Profile(
            name: "pi-lan", description: "Pi \"LAN\"", includes: ["kernel-default"],
            sysctls: [.tcpWmem: "4096 131072 4194304", .tcpMtuProbing: "1"],
            link: LinkSettings(mtu: 1500), path: "/p/pi-lan.toml",
            origins: ["net.ipv4.tcp_wmem": "pi-lan", "net.ipv4.tcp_mtu_probing": "kernel-default", "mtu": "pi-lan"])
        let text = ProfileOutput.renderResolved(profile)
        // What `profiles show` prints parses back to the same settings.
        let reparsed = try ProfileParser.parse(text, name: "pi-lan", path: "shown.toml")
        #expect(reparsed.sysctls == profile.sysctls)
        #expect(reparsed.link == profile.link)
        #expect(reparsed.description == profile.description)
        #expect(text.contains("# from kernel-default"))
    }

    @Test func tryHelpIsPinned() {
        let help = NetTuneCommand.helpMessage(for: NetTuneCommand.Try.self, columns: 100)
        #expect(
            help.contains(
                "USAGE: nettune try <profile> [--timeout <duration>] [--peer <host[:port]>] [--interface <name>] [--token <secret>] [--profiles <dir> ...] [--state-dir <dir>] [--lock-wait <duration>] [--json]"
            ))
        #expect(help.contains("(default: 30s)"))
    }

    /// After an apply on top of an earlier profile, revert goes back further than
    /// this apply: the message says what revert will restore.
    @Test func anApplyOnTopSaysWhatRevertRestores() {
        let plan = Plan(profile: "wan", changes: [Change(.sysctl(.tcpRmem), from: "1 2 3", to: "4 5 6")])
        let alone = PlanOutput.render(plan, outcome: .applied, snapshot: "/s.json")
        #expect(alone.contains("Applied. `nettune revert` restores the values it replaced (snapshot: /s.json)."))
        let earlier = Snapshot(netnsInode: 1, created: 0, profiles: ["lan", "jumbo"])
        let onTop = PlanOutput.render(plan, outcome: .applied, snapshot: "/s.json", earlier: earlier)
        #expect(onTop.contains("Applied on top of lan, jumbo. `nettune revert` restores the values from before lan was applied"))
    }

    @Test func recommendHelpStatesItsOwnDefaults() {
        let help = NetTuneCommand.helpMessage(for: NetTuneCommand.Recommend.self, columns: 200)
        #expect(help.contains("64 MiB unless --size or --time say otherwise"))
        #expect(help.contains("(default: /etc/nettune/profiles)"))
        #expect(!help.contains("default: 230MiB)"))
    }
}
