import ArgumentParser
import Glibc
import NetTune

extension NetTuneCommand {
    struct Try: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Apply a profile and revert it automatically unless confirmed in time.",
            discussion: """
                The safety net for changes that can cut you off (an MTU the path cannot \
                carry, over SSH): prints the plan, applies it, then waits --timeout for \
                Enter on the terminal or `nettune confirm` from another shell, and \
                otherwise takes the change back. With --peer it first runs a short probe \
                against that `nettune serve` and, when the profile changes the MTU, sends \
                don't-fragment pings of the new size to it; if either fails it reverts at \
                once. Ctrl-C, Ctrl-\\, SIGTERM and SIGHUP revert too. Needs root (CAP_NET_ADMIN). \
                Exit status: 0 kept, 1 reverted (timeout or failed peer check), 2 reverting \
                failed (run `nettune revert`), 128 + the signal when interrupted.
                """
        )

        @Argument(help: ArgumentHelp("A profile name or a path to a .toml file.", valueName: "profile"), completion: Completions.profiles)
        var profile: String

        @Option(
            name: .long, parsing: .unconditional, help: ArgumentHelp("How long to wait for confirmation (default: 30s).", valueName: "duration"),
            transform: Parse.positiveDuration)
        var timeout = TimeSpanArgument(.seconds(30))

        @Option(
            name: .long, help: ArgumentHelp("After applying, check the path to this `nettune serve` with a short probe.", valueName: "host[:port]"),
            transform: Parse.endpoint)
        var peer: Endpoint?

        @Option(
            name: .long, help: ArgumentHelp("Set the profile's MTU on this interface instead of the default-route one.", valueName: "name"),
            completion: Completions.interfaces, transform: Parse.interface)
        var interface: String?

        @Option(
            name: .long, help: ArgumentHelp("Secret the peer's server requires (default: $NETTUNE_TOKEN).", valueName: "secret"),
            transform: Parse.token)
        var token: String?

        @OptionGroup var profiles: ProfileOptions
        @OptionGroup var state: StateOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let resolved = try profiles.library.resolve(profile)
            let tuner = try SystemTuner.make(state: state)
            // From here on a signal must lead to a revert, not a dead process.
            let interruption = try Interruption.install()
            SignalMask.keepRunningInTheBackground()
            var peerCheck: (any PeerChecking)?
            if let peer {
                var options = try ProbeOptions.parse(token.map { ["--token", $0] } ?? [])
                options.size = SizeArgument(4 << 20)
                options.warmup = SizeArgument(0)
                options.stallTimeout = TimeSpanArgument(.seconds(5))
                let request = try options.request(to: peer, interruption: interruption)
                peerCheck = ProbePeerCheck(
                    transport: ProbeTransports.client(request, interruption: interruption), links: tuner.links,
                    interruption: interruption)
            }
            let terminal: Int32? = isatty(STDIN_FILENO) == 1 ? STDIN_FILENO : nil
            let workflow = TryWorkflow(
                tuner: tuner, profile: resolved, interface: interface, timeout: timeout.duration,
                peerCheck: peerCheck, terminal: terminal, interruption: interruption)
            let countdown = ProgressLine()
            let result: TryWorkflow<ProcSysStore, NetlinkLinkController>.Result
            do {
                result = try countdown.around {
                    try workflow.run { event in
                        switch event {
                        case .planned(let plan):
                            // The plan first, so the person knows what they are asked to keep.
                            if !output.json {
                                PlanOutput.warn(plan.warnings)
                                if !plan.changes.isEmpty { StandardError.write(PlanOutput.render(plan, outcome: .trying, snapshot: nil)) }
                            }
                        case .peerChecked(let report):
                            StandardError.print(TryOutput.peerLine(report, peer: peer))
                        case .waiting(let timeout, let terminal):
                            StandardError.print(
                                "Applied '\(resolved.name)'. " + (terminal ? "Press Enter, or run" : "Run")
                                    + " `nettune confirm` in another shell, within \(TimeSpan.format(timeout)) to keep it; otherwise it is reverted.")
                        case .tick(let left):
                            countdown.show("reverting in \(Int(left.seconds.rounded())) s … ")
                        }
                    }
                }
            } catch let error as TryUndoError {
                throw WordedFailure(line: "error: \(error)", message: "\(error)", exitStatus: 2)
            }
            switch result.outcome {
            case .nothingToDo:
                report(result.plan, .nothingToDo)
            case .kept(let how):
                StandardError.print("confirmed (\(how)): the profile stays")
                report(result.plan, .confirmed, snapshot: tuner.snapshots.path(for: tuner.namespace))
            case .reverted(let reason):
                switch reason {
                case .timedOut:
                    StandardError.print("not confirmed within \(TimeSpan.format(timeout.duration)): reverted")
                case .peerCheckFailed(let error):
                    StandardError.print("error: \(error)")
                    StandardError.print("reverted: the peer check failed after applying '\(result.plan.profile)'")
                case .interrupted(let signal):
                    StandardError.print("\(Interrupted(signal: signal)): reverted")
                }
                report(result.plan, .undone)
                if case .interrupted(let signal) = reason { throw ExitCode(128 + signal) }
                throw ExitCode(1)
            }
        }

        /// A kept profile leaves its snapshot for `nettune revert`, and says where, as `apply` does.
        private func report(_ plan: Plan, _ outcome: PlanOutput.Outcome, snapshot: String? = nil) {
            if output.json {
                if let json = try? JSONOutput.encode(PlanJSON(plan, outcome: outcome, snapshot: snapshot)) { print(json) }
            } else {
                print(PlanOutput.render(plan, outcome: outcome, snapshot: snapshot), terminator: "")
            }
        }
    }

    struct Confirm: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Keep the profile a running `nettune try` applied in this network namespace.",
            discussion: """
                Exits 1 when no `try` is waiting, or when it has already started reverting. A `try` \
                killed while it waited (SIGKILL) left its profile applied: `confirm` keeps it, \
                `nettune revert` takes it back.
                """
        )

        @OptionGroup var state: StateOptions

        func run() throws {
            guard let namespace = NetworkNamespace.currentInode() else {
                throw CommandError("cannot identify this network namespace: /proc/self/ns/net is not readable")
            }
            switch try TryMarker(directory: try state.snapshots.directory, namespace: namespace).confirm() {
            case .confirmed:
                print("confirmed: `nettune try` keeps the profile")
            case .keptAbandoned(let pid):
                print("kept: `nettune try` (pid \(pid)) ended before its time was up (killed?) without reverting; what it applied stays")
            }
        }
    }
}
