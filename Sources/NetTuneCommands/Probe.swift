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
                steadier figures.
                """
        )

        @Argument(help: ArgumentHelp("Where `nettune serve` listens.", valueName: "host:port"))
        var peer: Endpoint

        @OptionGroup var probe: ProbeOptions

        @Option(name: .long, help: ArgumentHelp("Compare several methods, runs interleaved, e.g. sendfile,splice,readwrite.", valueName: "list"))
        var methods: MethodList?

        @Option(name: .long, help: "Measured runs per method.")
        var runs = 3

        @Option(name: .long, help: ArgumentHelp("Sample throughput at this interval.", valueName: "duration"))
        var interval: TimeSpanArgument?

        @Option(name: .long, help: ArgumentHelp("The history file results are added to (default: $XDG_STATE_HOME/nettune/history.jsonl or ~/.local/state/nettune/history.jsonl).", valueName: "path"))
        var history: String?

        @OptionGroup var state: StateOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
            if let interval, interval.duration <= .zero { throw ValidationError("--interval must be positive") }
        }

        func run() throws {
            let request = try probe.request(to: peer, interval: interval?.duration)
            let runner = ProbeRunner(request: request, methods: methods?.methods ?? [probe.method], runs: runs, warmupBytes: probe.warmup.bytes)
            let showProgress = StandardError.isTerminal
            let report = try runner.run { stage, progress in
                if showProgress { StandardError.write("\r\u{1B}[K" + ProbeTable.progressLine(stage, progress)) }
            }
            if showProgress { StandardError.write("\r\u{1B}[K") }
            let change = record(report)
            if output.json {
                var json = ProbeJSON(report, multipleMethods: methods != nil)
                json.baseline = change.map(BaselineJSON.init)
                print(try JSONOutput.encode(json))
            } else {
                print(ProbeTable.render(report), terminator: "")
                if let change { print("\n" + ProbeTable.baselineLine(change)) }
            }
        }

        /// Adds the results to the history and finds the baseline to compare with.
        private func record(_ report: ProbeReport) -> BaselineChange? {
            let store = HistoryStore(path: history ?? HistoryStore.defaultPath(environment: ProcessInfo.processInfo.environment))
            let fingerprint = FingerprintReader.current(report: report, store: ProcSysStore(), snapshots: state.snapshots)
            var change: BaselineChange?
            for (i, method) in report.methods.enumerated() {
                let entry = HistoryEntry(report: report, method: method, fingerprint: fingerprint, time: Int(Date().timeIntervalSince1970))
                if i == 0, let baseline = store.baseline(for: entry) { change = BaselineChange(current: entry, baseline: baseline) }
                do { try store.append(entry) } catch {
                    StandardError.print("warning: could not add the result to \(store.path): \(error)")
                }
            }
            return change
        }
    }
}
