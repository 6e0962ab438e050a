import ArgumentParser
import NetTune

extension NetTuneCommand {
    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check whether the live settings match a profile.",
            discussion: """
                Compares whitespace-insensitively (the kernel prints tcp_wmem with tabs). \
                Exits 0 when everything matches, 1 when something differs, listing it.
                """
        )

        @Argument(help: ArgumentHelp("A profile name or a path to a .toml file.", valueName: "profile"), completion: Completions.profiles)
        var profile: String

        @Option(
            name: .long, help: ArgumentHelp("Check the profile's MTU on this interface instead of the default-route one.", valueName: "name"),
            completion: Completions.interfaces)
        var interface: String?

        @OptionGroup var profiles: ProfileOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let resolved = try profiles.library.resolve(profile)
            let plan = try Planner(store: ProcSysStore(), links: NetlinkLinkController(), bootConfig: .none)
                .plan(resolved, interface: interface)
            if output.json {
                print(try JSONOutput.encode(VerifyJSON(plan)))
            } else {
                print(PlanOutput.renderVerify(plan), terminator: "")
            }
            if !plan.changes.isEmpty { throw ExitCode(1) }
        }
    }
}
