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

            Exit status: 0 on success. 1 when a command fails (the message says what \
            failed, where, and what to do), when `verify` finds values that differ, when \
            `try` reverted (its time ran out or the peer check failed), and when \
            `history --peer` matches nothing. 2 when `try` could not revert (run \
            `nettune revert`). 64 when the command line cannot be read. 128+n when \
            signal n ended `apply --probe`, `try` or `probe` (Ctrl-C: 130); the \
            original values are back in place (Ctrl-\\ too: SIGQUIT is caught). `serve` \
            stopped by SIGTERM, SIGINT, SIGQUIT or SIGHUP exits 0 once it has told its clients and logged them.

            The README is installed as share/doc/nettune/README.md under nettune's \
            prefix (/usr/local/share/doc/nettune/README.md by default); profiles are \
            found in /etc/nettune/profiles and share/nettune/profiles.
            """,
        version: NetTuneVersion.current,
        subcommands: [
            Show.self, Profiles.self, Apply.self, Revert.self, Verify.self, Try.self, Confirm.self, Serve.self, Probe.self, History.self,
            Recommend.self, Export.self, Report.self
        ]
    )

    public init() {}
}
