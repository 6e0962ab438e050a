/// `nettune probe`: measure, then keep the result in the history and find the
/// baseline it should be compared with.
public struct ProbeWorkflow<Store: SysctlStore, Links: LinkController> {
    public var runner: ProbeRunner<Store, Links>
    /// nil: do not record.
    public var history: HistoryStore?
    /// Seconds since the epoch, for the history entry.
    public var now: () -> Int

    public init(runner: ProbeRunner<Store, Links>, history: HistoryStore?, now: @escaping () -> Int) {
        self.runner = runner
        self.history = history
        self.now = now
    }

    public struct Outcome: Sendable {
        public var report: ProbeReport
        public var baseline: BaselineChange?
        /// Why the result could not be recorded; the measurement itself stands.
        public var historyProblem: String?
    }

    public func run(header: ((ProbeHeader) -> Void)? = nil, progress: ((ProbeStage, ProbeProgress) -> Void)? = nil) throws -> Outcome {
        let report = try runner.run(header: header, progress: progress)
        guard let history else { return Outcome(report: report, baseline: nil, historyProblem: nil) }
        // Under which fingerprint? Neither: a baseline from it would compare nothing.
        if !report.tuningChangedDuringRuns.isEmpty {
            return Outcome(
                report: report, baseline: nil,
                historyProblem: "the tuning changed while it measured (\(report.tuningChangedDuringRuns.joined(separator: "; "))): "
                    + "its runs mix two tunings, so the result was not added to the history; is another tuner at work "
                    + "(bpftune, tuned)? Stop it and probe again")
        }
        do {
            let change = try history.record(report, fingerprint: runner.machine.fingerprint(of: report), time: now())
            return Outcome(report: report, baseline: change, historyProblem: nil)
        } catch {
            return Outcome(report: report, baseline: nil, historyProblem: "could not add the result to \(history.path): \(error)")
        }
    }
}
