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

        @Option(name: .long, help: ArgumentHelp("Measure the profile against the current state with interleaved probes to this `nettune serve`.", valueName: "host:port"))
        var probe: Endpoint?

        @Option(name: .long, help: "With --probe: pairs of runs (A then B).")
        var pairs = 5

        @Flag(name: .long, help: "With --probe: go back to the original values afterwards, whatever the result.")
        var revert = false

        @Flag(name: .long, help: "With --probe: keep the profile only if its throughput is significantly better.")
        var revertIfWorse = false

        @OptionGroup(title: "Probe options (with --probe)") var probeOptions: ProbeOptions
        @OptionGroup var profiles: ProfileOptions
        @OptionGroup var state: StateOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            if probe == nil && (revert || revertIfWorse) { throw ValidationError("--revert and --revert-if-worse go with --probe") }
            if revert && revertIfWorse { throw ValidationError("give either --revert or --revert-if-worse") }
            if probe != nil && dryRun { throw ValidationError("--dry-run cannot be combined with --probe") }
            guard pairs >= 2 else { throw ValidationError("--pairs must be at least 2 to give a confidence interval") }
        }

        func run() throws {
            if let probe {
                try compare(with: probe)
                return
            }
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
    
        /// `--probe`: A/B against the current state, then keep or revert.
        private func compare(with peer: Endpoint) throws {
            let resolved = try profiles.library.resolve(profile)
            let tuner = try SystemTuner.make(state: state)
            let plan = try tuner.plan(resolved, interface: interface)
            let request = try probeOptions.request(to: peer)
            let finally: ABTest<ProcSysStore, NetlinkLinkController>.Finally = revert ? .revert : (revertIfWorse ? .revertIfNotBetter : .keepB)
            let test = ABTest(tuner: tuner, plan: plan, request: request, method: probeOptions.method, pairs: pairs,
                              warmupBytes: probeOptions.warmup.bytes, finally: finally)
            let signals = SignalPipe.install()
            defer { signals?.uninstall() }
            let showProgress = StandardError.isTerminal
            PlanOutput.warn(plan.warnings)
            let result: ABResult
            do {
                result = try test.run(interrupted: { signals?.take() != nil }) { step in
                    guard showProgress else { return }
                    switch step {
                    case .warmup: StandardError.write("\r\u{1B}[Kwarm-up …")
                    case .run(let pair, let side): StandardError.write("\r\u{1B}[Kpair \(pair)/\(pairs): \(side == .a ? "A (current)" : "B (\(plan.profile))") …")
                    }
                }
            } catch let error as ABTestError {
                if showProgress { StandardError.write("\r\u{1B}[K") }
                StandardError.print("error: \(error)")
                if case .interrupted = error { throw ExitCode(130) }
                throw ExitCode(1)
            }
            if showProgress { StandardError.write("\r\u{1B}[K") }
            if output.json {
                print(try JSONOutput.encode(ABJSON(result)))
            } else {
                print(ABOutput.render(result), terminator: "")
            }
        }
}
}
