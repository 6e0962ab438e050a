import Foundation
import FuzzSupport
import NetTune

/// libFuzzer drives this binary (see FuzzSupport).
@_cdecl("FuzzResultFiles_main")
public func main(argc: Int32, argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc: argc, argv: argv, fuzzResultFiles)
}

/// Any bytes as a result file read from outside: the first byte picks which (a
/// history line, what `apply --probe --json` wrote, what `probe --json` wrote, as
/// `history` and `report` read them). What decodes must hold only figures a
/// measurement gives and text safe to show, and must print without trapping.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzResultFiles(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = fuzzInput(data, size)
    guard let selector = bytes.first else { return 0 }
    let body = Array(bytes.dropFirst())
    switch selector % 3 {
    case 0:
        guard let entry = try? JSONDecoder().decode(HistoryEntry.self, from: Data(body)) else { return 0 }
        precondition(ResultLimits.time.contains(entry.time) && (1...ProbeWire.maxStreams).contains(entry.streams))
        precondition(entry.throughputs.allSatisfy(ResultLimits.isRate))
        precondition(entry.senderCPUSecondsPerGiB.count == entry.throughputs.count)
        precondition(PeerText.isClean(entry.peer) && entry.fingerprint.profiles.allSatisfy { PeerText.isClean($0) })
        _ = Statistics.median(entry.throughputs).map { BitRate(bitsPerSecond: $0).description }
        _ = ByteCount(entry.bytes).description
        // What this side writes, it reads back.
        let again = (try? JSONEncoder().encode(entry)).flatMap { try? JSONDecoder().decode(HistoryEntry.self, from: $0) }
        precondition(again == entry, "a decoded entry does not survive its encoder")
    case 1:
        guard let ab = try? ReportInputs.ab(json: body, path: "fuzz") else { return 0 }
        check(ab.a + ab.b)
        precondition(Set(ab.directions).count == ab.directions.count)
        for text in [ab.profile, ab.peer, ab.verdict, ab.final] + ab.directions + ab.comparisons.values.map(\.verdict) {
            precondition(PeerText.isClean(text, limit: 1_024))
        }
        for comparison in ab.comparisons.values {
            for ratio in [comparison.ratio, comparison.low, comparison.high].compactMap({ $0 }) { precondition(ratio.isFinite && ratio >= 0) }
        }
    default:
        guard let probe = try? ReportInputs.probe(json: body, path: "fuzz") else { return 0 }
        check(probe.runs)
        precondition(PeerText.isClean(probe.peer, limit: 1_024))
    }
    return 0
}

private func check(_ runs: [ReportInputs.Run]) {
    for run in runs {
        precondition(ResultLimits.isRate(run.throughput))
        _ = BitRate(bitsPerSecond: run.throughput).description
        for cpu in [run.senderCPUPerGiB, run.receiverCPUPerGiB].compactMap({ $0 }) { precondition(ResultLimits.isCPUPerGiB(cpu)) }
        for interval in run.intervals { precondition(ResultLimits.runSeconds.contains(interval.end) && ResultLimits.isRate(interval.throughput)) }
        precondition(PeerText.isClean(run.method) && PeerText.isClean(run.direction))
    }
}
