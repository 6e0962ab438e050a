import ArgumentParser
import Foundation
import NetTune

extension NetTuneCommand {
    struct Apply: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Apply a tuning profile, all-or-nothing, remembering what it replaced.",
            discussion: """
                Computes the plan (current to wanted, only real changes), saves a snapshot \
                of every value it will touch, then writes sysctls and sets the MTU through \
                netlink. If any step fails, the steps already made are undone. `nettune \
                revert` restores the snapshot. Holds this network namespace's lock while it \
                works, so two nettune runs never interleave. Needs root (CAP_NET_ADMIN) \
                unless --dry-run. With --probe, exits 130 (or 128 + the signal) when \
                interrupted, with the original values back in place.
                """
        )

        @Argument(
            help: ArgumentHelp("A profile name (see `nettune profiles`) or a path to a .toml file.", valueName: "profile"),
            completion: Completions.profiles)
        var profile: String

        @Option(
            name: .long, help: ArgumentHelp("Set the profile's MTU on this interface instead of the default-route one.", valueName: "name"),
            completion: Completions.interfaces, transform: Parse.interface)
        var interface: String?

        @Flag(name: .long, help: "Print the plan and change nothing.")
        var dryRun = false

        @Option(
            name: .long,
            help: ArgumentHelp(
                "Measure the profile against the current state with interleaved probes to this `nettune serve`.", valueName: "host[:port]"),
            transform: Parse.endpoint)
        var probe: Endpoint?

        @Option(
            name: .long, parsing: .unconditional,
            help: ArgumentHelp(
                "With --probe: pairs of runs (A and B, in turns A B, B A), 2 to \(ABTest<ProcSysStore, NetlinkLinkController>.maximumPairs) (default: 5).",
                valueName: "n"),
            transform: Parse.count(2...ABTest<ProcSysStore, NetlinkLinkController>.maximumPairs))
        var pairs = 5

        @Flag(name: .long, help: "With --probe: go back to the original values afterwards, whatever the result.")
        var revert = false

        @Flag(name: .long, help: "With --probe: keep the profile only if its throughput is significantly better.")
        var revertIfWorse = false

        @Option(
            name: .long,
            help: ArgumentHelp(
                "With --probe: measure sending, receiving or both (default: the directions the profile's changes act on).",
                valueName: "send|receive|both"),
            transform: Parse.direction)
        var direction: ProbeDirection?

        @OptionGroup(title: "Probe options (with --probe)") var probeOptions: ProbeOptions
        @OptionGroup var profiles: ProfileOptions
        @OptionGroup var state: StateOptions
        @OptionGroup var history: HistoryOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            if probe == nil && (revert || revertIfWorse) { throw ValidationError("--revert and --revert-if-worse go with --probe") }
            if revert && revertIfWorse { throw ValidationError("give either --revert or --revert-if-worse") }
            if probe != nil && dryRun { throw ValidationError("--dry-run cannot be combined with --probe") }
        }

        func run() throws {
            let resolved = try profiles.library.resolve(profile)
            let tuner = try SystemTuner.make(state: state)
            if let probe {
                try compare(resolved, tuner: tuner, with: probe)
                return
            }
            let applied: AppliedPlan
            let outcome: PlanOutput.Outcome
            if dryRun {
                applied = AppliedPlan(plan: try tuner.plan(resolved, interface: interface), previousSnapshot: nil)
                outcome = .dryRun
            } else {
                applied = try tuner.apply(resolved, interface: interface)
                outcome = applied.plan.changes.isEmpty ? .nothingToDo : .applied
            }
            let snapshot = tuner.snapshots.path(for: tuner.namespace)
            if output.json {
                print(try JSONOutput.encode(PlanJSON(applied.plan, outcome: outcome, snapshot: outcome == .applied ? snapshot : nil)))
            } else {
                PlanOutput.warn(applied.plan.warnings)
                print(PlanOutput.render(applied.plan, outcome: outcome, snapshot: snapshot, earlier: applied.previousSnapshot), terminator: "")
            }
        }

        /// `--probe`: A/B against the current state, then keep or revert.
        private func compare(_ resolved: Profile, tuner: Tuner<ProcSysStore, NetlinkLinkController>, with peer: Endpoint) throws {
            let interruption = try Interruption.install()
            SignalMask.keepRunningInTheBackground()
            // A comparison that only receives sends nothing: no payload to make. The
            // directions come from the plan as it reads now (ABTest plans again under
            // its lock, and stops if sending is then needed after all).
            let ways = direction?.ways ?? (try? tuner.plan(resolved, interface: interface)).map { DirectionChoice(plan: $0, forced: nil).directions }
            let request = try probeOptions.request(to: peer, direction: ways == [.receive] ? .receive : .send, interruption: interruption)
            let finally: ABTest<ProcSysStore, NetlinkLinkController>.Finally = revert ? .revert : (revertIfWorse ? .revertIfNotBetter : .keepB)
            var test = ABTest(
                tuner: tuner, profile: resolved, interface: interface,
                transport: ProbeTransports.client(request, interruption: interruption),
                machine: SystemTuner.machine(state: state), payload: request.payload, method: probeOptions.method,
                pairs: pairs, warmupBytes: probeOptions.warmup.bytes, finally: finally,
                directions: direction.map { $0.ways }, streams: probeOptions.parallel, interruption: interruption)
            test.history = try history.store()
            let progress = ProgressLine()
            var status = ABProgress(pairs: pairs, profile: resolved.name)
            let result: ABResult
            do {
                result = try progress.around {
                    try test.run { step in
                        switch step {
                        case .planned(let plan, let choice):
                            PlanOutput.warn(plan.warnings)
                            if let warning = choice.warning { StandardError.print("warning: \(warning)") }
                            status.planned(directions: choice.directions)
                        case .warmup: progress.show("warm-up …")
                        case .run(let pair, let side, let way):
                            status.starting(pair: pair, side: side, direction: way, at: .now)
                            progress.show(status.line(at: .now))
                        case .measured(let pair, let side, let way, let throughput):
                            status.measured(pair: pair, side: side, direction: way, throughput: throughput)
                        case .waiting(let waiting):
                            if let line = status.waitingLine(waiting) { progress.show(line) }
                        }
                    }
                }
            } catch let error as ABTestError {
                var status: Int32 = 1
                if case .interrupted(_, let signal) = error { status = 128 + signal }
                throw WordedFailure(line: "error: \(error)", message: "\(error)", exitStatus: status)
            }
            if let problem = result.historyProblem { StandardError.print("warning: \(problem)") }
            if output.json {
                print(try JSONOutput.encode(ABJSON(result)))
            } else {
                print(ABOutput.render(result), terminator: "")
            }
        }
    }
}
