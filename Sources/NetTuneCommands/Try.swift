import ArgumentParser
import NetTune

extension NetTuneCommand {
    struct Try: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Apply a profile and revert it automatically unless confirmed in time.",
            discussion: """
                The safety net for changes that can cut you off (an MTU the path cannot \
                carry, over SSH): after applying, nettune waits --timeout for Enter on the \
                terminal or `nettune confirm` from another shell, and otherwise takes the \
                change back. With --peer it first checks that the peer still accepts a TCP \
                connection and acknowledges full-sized segments, and reverts at once if \
                not. Ctrl-C, SIGTERM and SIGHUP revert too. Needs root (CAP_NET_ADMIN).
                """
        )

        @Argument(help: ArgumentHelp("A profile name or a path to a .toml file.", valueName: "profile"))
        var profile: String

        @Option(name: .long, help: ArgumentHelp("How long to wait for confirmation.", valueName: "duration"))
        var timeout = TimeSpanArgument(.seconds(30))

        @Option(name: .long, help: ArgumentHelp("After applying, check that this TCP peer still answers and moves data.", valueName: "host:port"))
        var peer: Endpoint?

        @Option(name: .long, help: ArgumentHelp("Set the profile's MTU on this interface instead of the default-route one.", valueName: "name"))
        var interface: String?

        @OptionGroup var profiles: ProfileOptions
        @OptionGroup var state: StateOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let resolved = try profiles.library.resolve(profile)
            let tuner = try SystemTuner.make(state: state)
            let plan = try tuner.plan(resolved, interface: interface)
            guard !plan.changes.isEmpty else {
                report(plan, .nothingToDo)
                return
            }
            let marker = TryMarker(snapshots: tuner.snapshots, namespace: tuner.namespace)
            // From here on a signal must lead to a revert, not a dead process.
            let signals = SignalPipe.install()
            defer { signals?.uninstall() }
            let applied = try tuner.apply(plan)
            defer { marker.end() }

            if let peer {
                do {
                    let check = try PeerCheck.run(peer)
                    StandardError.print("peer \(peer) answered: \(ByteCount(Int(check.bytesAcknowledged))) acknowledged in \(Int(check.seconds * 1000)) ms (path MTU \(check.pmtu))")
                } catch {
                    try undo(applied, tuner)
                    StandardError.print("error: \(error)")
                    StandardError.print("reverted: the peer check failed after applying '\(plan.profile)'")
                    report(plan, .undone)
                    throw ExitCode(1)
                }
            }

            do {
                try marker.begin()
            } catch {
                try undo(applied, tuner)
                throw error
            }
            let terminal = isatty(STDIN_FILENO) == 1
            StandardError.print("Applied '\(plan.profile)'. " + (terminal ? "Press Enter, or run" : "Run")
                + " `nettune confirm` in another shell, within \(Int(timeout.duration.seconds)) s to keep it; otherwise it is reverted.")
            let wait = ConfirmationWait(timeout: timeout.duration, confirmationFile: marker.confirmationPath, watchTerminal: terminal)
            let showCountdown = StandardError.isTerminal
            let outcome = wait.wait(signals: signals) { left in
                if showCountdown { StandardError.write("\rreverting in \(Int(left.seconds.rounded())) s … ") }
            }
            if showCountdown { StandardError.write("\r\u{1B}[K") }

            switch outcome {
            case .confirmed(let how):
                StandardError.print("confirmed (\(how))")
                report(plan, .confirmed)
            case .timedOut:
                try undo(applied, tuner)
                StandardError.print("not confirmed within \(Int(timeout.duration.seconds)) s: reverted")
                report(plan, .undone)
                throw ExitCode(1)
            case .interrupted(let signal):
                try undo(applied, tuner)
                StandardError.print("interrupted (signal \(signal)): reverted")
                report(plan, .undone)
                throw ExitCode(128 + signal)
            }
        }

        private func undo(_ applied: AppliedPlan, _ tuner: Tuner<ProcSysStore, NetlinkLinkController>) throws {
            do {
                try tuner.undo(applied)
            } catch {
                StandardError.print("error: reverting failed: \(error). Run `nettune revert` to restore the snapshot.")
                throw ExitCode(2)
            }
        }

        private func report(_ plan: Plan, _ outcome: PlanOutput.Outcome) {
            if output.json {
                if let json = try? JSONOutput.encode(PlanJSON(plan, outcome: outcome, snapshot: nil)) { print(json) }
            } else {
                PlanOutput.warn(plan.warnings)
                print(PlanOutput.render(plan, outcome: outcome, snapshot: nil), terminator: "")
            }
        }
    }

    struct Confirm: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Keep the profile a running `nettune try` applied in this network namespace."
        )

        @OptionGroup var state: StateOptions

        func run() throws {
            guard let namespace = NetworkNamespace.currentInode() else {
                throw ValidationError("cannot identify this network namespace")
            }
            try TryMarker(snapshots: state.snapshots, namespace: namespace).confirm()
            print("confirmed: `nettune try` keeps the profile")
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
