import ArgumentParser
import NetTune

/// `nettune`: see your TCP tuning, change it safely, and measure whether it helped.
public struct NetTuneCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "nettune",
        abstract: "Show, tune and measure a Linux machine's TCP stack.",
        discussion: """
            nettune reads TCP buffer sysctls and interface settings through /proc/sys \
            and netlink (libnl), applies named tuning profiles all-or-nothing, and \
            measures with a real file transfer whether a change made a difference.
            """,
        version: NetTuneVersion.current,
        subcommands: [
            Show.self, Profiles.self, Apply.self, Revert.self, Verify.self, Try.self, Confirm.self, Serve.self, Probe.self, History.self,
            Recommend.self, Export.self
        ]
    )

    public init() {}
}
