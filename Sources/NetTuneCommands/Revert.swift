import ArgumentParser
import NetTune

extension NetTuneCommand {
    struct Revert: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Restore the values nettune replaced in this network namespace.",
            discussion: """
                Puts back every value recorded before nettune's first apply here \
                (all-or-nothing), then deletes the snapshot. Exits 1 when there is no \
                snapshot, unless --if-applied.
                """
        )

        @Flag(name: .long, help: "Print what would be restored and change nothing.")
        var dryRun = false

        @Flag(name: .long, help: "Succeed quietly when nothing was applied (for service units).")
        var ifApplied = false

        @OptionGroup var state: StateOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let tuner = try SystemTuner.make(state: state)
            let plan: Plan
            do {
                plan = dryRun ? try tuner.revertPlan().plan : try tuner.revert()
            } catch let error as NoSnapshotError where ifApplied {
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
