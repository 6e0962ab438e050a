import ArgumentParser
import NetTune

extension NetTuneCommand {
    struct Apply: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Apply a tuning profile, all-or-nothing, remembering what it replaced.",
            discussion: """
                Computes the plan (current → wanted, only real changes), saves a snapshot \
                of every value it will touch, then writes sysctls and sets the MTU through \
                netlink. If any step fails, the steps already made are undone. `nettune \
                revert` restores the snapshot. Needs root (CAP_NET_ADMIN) unless --dry-run.
                """
        )

        @Argument(help: ArgumentHelp("A profile name (see `nettune profiles`) or a path to a .toml file.", valueName: "profile"))
        var profile: String

        @Option(name: .long, help: ArgumentHelp("Set the profile's MTU on this interface instead of the default-route one.", valueName: "name"))
        var interface: String?

        @Flag(name: .long, help: "Print the plan and change nothing.")
        var dryRun = false

        @OptionGroup var profiles: ProfileOptions
        @OptionGroup var state: StateOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let resolved = try profiles.library.resolve(profile)
            let tuner = try SystemTuner.make(state: state)
            let plan = try tuner.plan(resolved, interface: interface)
            if !dryRun { try tuner.apply(plan) }
            let outcome: PlanOutput.Outcome = dryRun ? .dryRun : (plan.changes.isEmpty ? .nothingToDo : .applied)
            let snapshot = tuner.snapshots.path(for: tuner.namespace)
            if output.json {
                print(try JSONOutput.encode(PlanJSON(plan, outcome: outcome, snapshot: outcome == .applied ? snapshot : nil)))
            } else {
                PlanOutput.warn(plan.warnings)
                print(PlanOutput.render(plan, outcome: outcome, snapshot: snapshot), terminator: "")
            }
        }
    }
}
