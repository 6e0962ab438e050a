import ArgumentParser
import NetTune

extension NetTuneCommand {
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a profile as configuration for the distribution's own boot-time tools.",
            discussion: """
                --format sysctl.d prints a fragment for /etc/sysctl.d/ (applied by systemd-sysctl \
                at boot); --format networkd prints a systemd-networkd .link file for the MTU. For \
                people who prefer those over `nettune-apply@.service`. Changes nothing.
                """
        )

        enum Format: String, ExpressibleByArgument, CaseIterable {
            case sysctlD = "sysctl.d"
            case networkd
        }

        @Argument(help: ArgumentHelp("A profile name or a path to a .toml file.", valueName: "profile"), completion: Completions.profiles)
        var profile: String

        @Option(name: .long, help: "sysctl.d or networkd.")
        var format: Format

        @Option(
            name: .long,
            help: ArgumentHelp("The interface for the MTU (default: the profile's, else the default-route interface).", valueName: "name"),
            completion: Completions.interfaces, transform: Parse.interface)
        var interface: String?

        @OptionGroup var profiles: ProfileOptions

        func run() throws {
            let resolved = try profiles.library.resolve(profile)
            switch format {
            case .sysctlD:
                print(BootConfigExport.sysctlD(resolved), terminator: "")
            case .networkd:
                guard resolved.link.mtu != nil else {
                    throw CommandError("profile '\(resolved.name)' sets no MTU: there is nothing for networkd; use --format sysctl.d")
                }
                let name = try interface ?? resolved.link.interface ?? NetlinkLinkController().defaultRouteInterface()
                guard let name else {
                    throw CommandError("no interface named in the profile and no default route; give --interface")
                }
                print(
                    BootConfigExport.networkdLink(resolved, interface: name, hardwareAddress: SysfsLinkReader.permanentHardwareAddress(name)),
                    terminator: "")
            }
        }
    }
}
