import Foundation
import NetTune

/// What `nettune probe` prints while it runs: the header before the first byte,
/// then one line per interval (as iperf3 does), or with `--json-stream` one JSON
/// object per line for each; every line is flushed as it is written.
final class LiveProbeOutput {
    enum Mode {
        /// Nothing until the end: the header comes with the table (`--json`, or no intervals wanted).
        case quiet
        /// The header, then a line per interval, for people.
        case text
        /// One JSON object per line: the start, each interval, the result.
        case jsonStream
    }

    let mode: Mode
    let progress: ProgressLine
    private(set) var headerShown = false
    private var columnsShown = false

    init(mode: Mode, progress: ProgressLine) {
        self.mode = mode
        self.progress = progress
    }

    func header(_ header: ProbeHeader) {
        switch mode {
        case .quiet: return
        case .text:
            progress.clear()
            emit(ProbeTable.header(header.report, resolved: header.remoteAddress), terminator: "")
            headerShown = true
        case .jsonStream:
            emit(line(ProbeStreamJSON.Start(header)))
            headerShown = true
        }
    }

    func progress(_ stage: ProbeStage, _ step: ProbeProgress) {
        guard case .run = stage else { return }  // the warm-up is not measured
        for ended in step.intervals {
            switch mode {
            case .quiet: continue
            case .text:
                progress.clear()
                if !columnsShown {
                    emit(ProbeTable.intervalColumns)
                    columnsShown = true
                }
                emit(ProbeTable.intervalLine(stage, ended))
            case .jsonStream:
                emit(line(ProbeStreamJSON.IntervalEvent(stage: stage, method: step.method, ended: ended)))
            }
        }
    }

    func result(_ json: ProbeJSON) {
        emit(line(ProbeStreamJSON.Result(result: json)))
    }

    private func line<T: Encodable>(_ value: T) -> String {
        (try? JSONOutput.encodeLine(value)) ?? "{}"
    }

    private func emit(_ text: String, terminator: String = "\n") {
        print(text, terminator: terminator)
        fflush(nil)  // each line as it happens, also into a pipe
    }
}
