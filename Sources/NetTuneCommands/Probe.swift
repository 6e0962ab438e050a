import ArgumentParser
import Foundation
import NetTune

extension NetTuneCommand {
    struct Probe: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send a real file to a `nettune serve` peer and measure the transfer.",
            discussion: """
                Times from the first payload byte to the receiver's confirmation of the last, \
                and reports throughput, CPU on both ends (the process's getrusage and the \
                host's /proc/stat) and the sender's TCP_INFO. Never sets SO_SNDBUF/SO_RCVBUF, \
                so tcp_wmem/tcp_rmem autotuning is what gets measured. On a fast link a \
                230 MiB file passes in about 0.1 s: use --time (or a larger --size) for \
                steadier figures. A peer that stops reading ends the run after \
                --stall-timeout; Ctrl-C ends it at once (exit 130).
                """
        )

        @Argument(
            help: ArgumentHelp(
                "Where `nettune serve` listens (port 9000 unless given), or iperf3://HOST[:PORT] for an iperf3 server.", valueName: "host[:port]"),
            transform: Parse.endpoint)
        var peer: Endpoint

        @OptionGroup var probe: ProbeOptions

        @OptionGroup var ways: DirectionOptions

        @Option(
            name: .long, help: ArgumentHelp("Compare several methods, runs interleaved, e.g. sendfile,splice,readwrite.", valueName: "list"),
            transform: Parse.methods)
        var methods: MethodList?

        @Option(
            name: .long, parsing: .unconditional, help: ArgumentHelp("Measured runs per method, 1 to \(maximumRuns) (default: 3).", valueName: "n"),
            transform: Parse.count(1...maximumRuns))
        var runs = 3

        @Option(
            name: [.customShort("i"), .long], parsing: .unconditional,
            help: ArgumentHelp(
                "Report throughput, retransmits, cwnd and RTT at this interval, a line each as it ends, as iperf3's -i (default on a terminal: 1s for --time longer than 2s).",
                valueName: "duration"), transform: Parse.reportInterval)
        var interval: TimeSpanArgument?

        @Flag(name: .long, help: "Write one JSON object per line as the probe runs: start, each interval, the result (the --json keys).")
        var jsonStream = false

        @OptionGroup var history: HistoryOptions

        @OptionGroup var state: StateOptions
        @OptionGroup var output: OutputOptions

        static var maximumRuns: Int { ProbeRunner<ProcSysStore, NetlinkLinkController>.maximumRuns }

        func validate() throws {
            if jsonStream && output.json { throw ValidationError("give either --json or --json-stream") }
        }

        /// iperf3's habit: intervals on a terminal for a run long enough to have several.
        var effectiveInterval: Duration? {
            if let interval { return interval.duration }
            guard isatty(STDOUT_FILENO) == 1, !output.json, !jsonStream, let time = probe.time?.duration, time > .seconds(2) else { return nil }
            return .seconds(1)
        }

        var direction: ProbeDirection { ways.direction }

        func run() throws {
            let interruption = try Interruption.install()
            let request = try probe.request(to: peer, interval: effectiveInterval, direction: direction, interruption: interruption)
            let runner = ProbeRunner(
                transport: ProbeTransports.client(request, interruption: interruption), machine: SystemTuner.machine(state: state),
                payload: request.payload, methods: methods?.methods ?? [probe.method], runs: runs,
                warmupBytes: probe.warmup.bytes, streams: probe.parallel)
            let store = try history.store()
            let workflow = ProbeWorkflow(runner: runner, history: store, now: { Int(Date().timeIntervalSince1970) })
            let progress = ProgressLine()
            let live = LiveProbeOutput(
                mode: jsonStream ? .jsonStream : (output.json || request.interval == nil ? .quiet : .text), progress: progress)
            let outcome: ProbeWorkflow<ProcSysStore, NetlinkLinkController>.Outcome
            do {
                outcome = try progress.around {
                    // Nothing to show (piped, no intervals): no listener, so the
                    // transfers read no counters for one.
                    guard live.mode != .quiet || progress.enabled else { return try workflow.run() }
                    return try workflow.run(header: live.header) { stage, step in
                        live.progress(stage, step)
                        progress.show(ProbeTable.progressLine(stage, step))
                    }
                }
            } catch let error as Interrupted {
                throw WordedFailure(line: "\(error): the probe was stopped", exitStatus: error.exitCode)
            }
            if let problem = outcome.historyProblem { StandardError.print("warning: \(problem)") }
            if output.json || jsonStream {
                var json = ProbeJSON(outcome.report, multipleMethods: methods != nil)
                json.baseline = outcome.baseline.map(BaselineJSON.init)
                if jsonStream {
                    live.result(json)
                } else {
                    print(try JSONOutput.encode(json))
                }
            } else {
                if live.headerShown { print() }
                print(ProbeTable.render(outcome.report, headerShown: live.headerShown), terminator: "")
                if let change = outcome.baseline { print("\n" + ProbeTable.baselineLine(change)) }
            }
        }
    }
}
