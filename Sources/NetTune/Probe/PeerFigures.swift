/// The server's figures are another machine's claims: each is checked against
/// what is physically possible before nettune prints it or bases a diagnosis on it.
enum PeerFigures {
    /// More CPUs than any machine that would run `nettune serve`.
    static let maximumCPUs = 4096.0

    static func cpu(of result: ResultMessage, elapsed: Double, endpoint: Endpoint) throws -> CPUUsage {
        let usage = CPUUsage(
            userSeconds: Double(result.cpuUserNanoseconds) / 1e9, systemSeconds: Double(result.cpuSystemNanoseconds) / 1e9,
            hostBusySeconds: Double(result.hostBusyNanoseconds) / 1e9, hostSoftirqSeconds: Double(result.hostSoftirqNanoseconds) / 1e9,
            hostTotalSeconds: Double(result.hostTotalNanoseconds) / 1e9)
        // The server's window lies inside ours; a clock tick of slack.
        let window = elapsed + 0.05
        let hostTotal = Double(result.hostTotalNanoseconds) / 1e9
        let hostBusy = Double(result.hostBusyNanoseconds) / 1e9
        var impossible: [String] = []
        if hostTotal > window * maximumCPUs { impossible.append("host CPU time \(hostTotal) s in \(window) s") }
        if hostBusy > hostTotal + 0.05 { impossible.append("busy time above the host's total") }
        if Double(result.hostSoftirqNanoseconds) / 1e9 > hostBusy + 0.05 { impossible.append("softirq time above busy time") }
        // One process cannot use more than every CPU for the whole window (host time
        // counts in ticks: a tick per CPU of slack).
        let processLimit = hostTotal > 0 ? hostTotal * 1.02 + 0.05 : window * maximumCPUs
        if usage.processSeconds > min(processLimit, window * maximumCPUs) {
            impossible.append("process CPU \(usage.processSeconds) s in a \(String(format: "%.3f", elapsed)) s transfer")
        }
        guard impossible.isEmpty else { throw refuse(endpoint, impossible) }
        return usage
    }

    /// One stream: the server's count must be exactly what moved, and its time
    /// within ours. Returns the stream's bytes and its time, measured where the
    /// bytes arrived (the server for a send stream, here for a receive stream).
    static func stream(
        _ report: StreamReport, moved: UInt64, localSeconds: Double, elapsed: Double,
        direction: ProbeDirection, endpoint: Endpoint
    ) throws -> (bytes: UInt64, seconds: Double) {
        guard report.bytes == moved else {
            let what =
                direction == .send
                ? "the server counted \(report.bytes) bytes, but \(moved) were sent"
                : "the server says it sent \(report.bytes) bytes, but \(moved) arrived"
            throw ProbeFailedError(endpoint: endpoint, message: "stream \(report.index): \(what)")
        }
        let serverSeconds = Double(report.nanoseconds) / 1e9
        guard serverSeconds <= elapsed + 0.05 else {
            throw refuse(endpoint, ["stream \(report.index) took \(serverSeconds) s in a \(String(format: "%.3f", elapsed)) s run"])
        }
        if let info = report.tcpInfo, Double(info.busyMicroseconds ?? 0) > (elapsed + 1) * 1e6 {
            throw refuse(endpoint, ["stream \(report.index) busy longer than the run"])
        }
        guard let seconds = streamSeconds(bytes: report.bytes, seconds: direction == .send ? serverSeconds : localSeconds, fallback: elapsed)
        else {
            throw refuse(endpoint, ["stream \(report.index): \(report.bytes) bytes in \(direction == .send ? serverSeconds : localSeconds) s"])
        }
        return (report.bytes, seconds)
    }

    /// The shortest time a stream's clock can be trusted with: a few reads' worth.
    static let shortestTimedStream = 100e-6

    /// A stream's time as a rate can be drawn from it. Shorter than
    /// `shortestTimedStream` (its bytes arrived in a read or two: 16 KiB on loopback
    /// took 14 ns, "9.36 Tbit/s"), it is `fallback` instead — a longer window this
    /// end measured, which bounds the rate from below.
    /// - Returns: nil when even that gives a rate no link has (a peer's claim).
    static func streamSeconds(bytes: UInt64, seconds: Double, fallback: Double) -> Double? {
        let timed = seconds >= shortestTimedStream ? seconds : max(seconds, fallback)
        guard bytes == 0 || (timed > 0 && ResultLimits.isRate(Double(bytes) * 8 / timed)) else { return nil }
        return timed
    }

    private static func refuse(_ endpoint: Endpoint, _ what: [String]) -> ProbeFailedError {
        ProbeFailedError(endpoint: endpoint, message: "\(endpoint) reported impossible figures (\(what.joined(separator: "; "))): not trusted")
    }
}
