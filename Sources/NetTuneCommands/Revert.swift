import ArgumentParser
import NetTune

extension NetTuneCommand {
    struct Revert: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Restore the values nettune replaced in this network namespace.",
            discussion: """
                Puts back every value recorded before nettune's first apply here \
                (all-or-nothing), then deletes the snapshot. With --profile, puts back \
                only the values that profile changed first and keeps the rest. Exits 1 \
                when there is nothing to revert, unless --if-applied.
                """
        )

        @Flag(name: .long, help: "Print what would be restored and change nothing.")
        var dryRun = false

        @Option(name: .long, help: ArgumentHelp("Revert only what this applied profile changed first.", valueName: "name"))
        var profile: String?

        @Flag(name: .long, help: "Succeed quietly when nothing (or not that profile) was applied, as service units need.")
        var ifApplied = false

        @OptionGroup var state: StateOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let tuner = try SystemTuner.make(state: state)
            let plan: Plan
            do {
                if dryRun {
                    plan = try profile.map { try tuner.revertPlan(profile: $0).plan } ?? tuner.revertPlan().plan
                } else if let profile {
                    plan = try tuner.revert(profile: profile)
                } else {
                    plan = try tuner.revert()
                }
            } catch  where ifApplied && (error is NoSnapshotError || error is ProfileNotAppliedError) {
                if !output.json { StandardError.print("nothing to revert: \(error)") }
                return
            }
            let outcome: PlanOutput.Outcome = dryRun ? .dryRun : .reverted
            if output.json {
                print(try JSONOutput.encode(PlanJSON(plan, outcome: outcome, snapshot: nil)))
            } else {
                PlanOutput.warn(plan.warnings)
                print(PlanOutput.render(plan, outcome: outcome, snapshot: nil), terminator: "")
            }
        }
    }
}
