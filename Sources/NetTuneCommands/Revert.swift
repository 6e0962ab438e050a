import ArgumentParser
import NetTune

extension NetTuneCommand {
    struct Revert: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Restore the values nettune replaced in this network namespace.",
            discussion: """
                Puts back every value recorded before nettune's first apply here \
                (all-or-nothing), then deletes the snapshot. Exits 1 when there is no snapshot.
                """
        )

        @Flag(name: .long, help: "Print what would be restored and change nothing.")
        var dryRun = false

        @OptionGroup var state: StateOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let tuner = try SystemTuner.make(state: state)
            let plan = dryRun ? try tuner.revertPlan().plan : try tuner.revert()
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
