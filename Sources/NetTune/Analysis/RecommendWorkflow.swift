import SystemPackage

/// `nettune recommend`: a short probe, a profile sized from what it measured,
/// checked by the profile parser, and optionally written where `apply` finds it.
public struct RecommendWorkflow<Store: SysctlStore, Links: LinkController> {
    public var runner: ProbeRunner<Store, Links>
    /// MemTotal comes from here: one socket may not take more than a share of RAM.
    public var meminfo: FilePath

    public init(runner: ProbeRunner<Store, Links>, meminfo: FilePath = "/proc/meminfo") {
        self.runner = runner
        self.meminfo = meminfo
    }

    public struct Outcome: Sendable {
        public var report: ProbeReport
        public var recommendation: Recommendation
        /// The profile as TOML, already parsed back once.
        public var toml: String
    }

    public func run(name: String?, progress: ((ProbeStage, ProbeProgress) -> Void)? = nil) throws -> Outcome {
        let report = try runner.run(progress: progress)
        // Sized from runs under two tunings, a recommendation would size from neither.
        guard report.tuningChangedDuringRuns.isEmpty else { throw RecommendError.tuningChanged(report.tuningChangedDuringRuns) }
        let method = runner.methods[0]
        // Each direction sized from its own runs; one without a round-trip time (an
        // iperf3 server sends without its TCP_INFO) gives nothing to size from.
        let measured = report.directions.compactMap { way -> Recommender.Measured? in
            let runs = report.runs(of: method, direction: way)
            guard let throughput = Statistics.median(runs.map(\.throughputBitsPerSecond)),
                let minRTT = runs.filter({ $0.tcpInfoFrom != .unavailable }).compactMap(\.tcpInfo.minRTTMicroseconds).min()
            else { return nil }
            let diagnosis = report.diagnosis(of: method, direction: way)
            let mss = Double(runs.map(\.tcpInfo.sndMSS).filter { $0 > 0 }.min() ?? 1448)
            return Recommender.Measured(
                direction: way, throughput: throughput, pathGoodput: diagnosis?.pathRate.map { $0 * mss / (mss + 66) },
                minRTTSeconds: Double(minRTT) / 1e6, bottleneck: diagnosis?.bottleneck ?? .unknown,
                mostlySlowStart: diagnosis?.mostlySlowStart ?? false)
        }
        guard !measured.isEmpty else {
            throw report.runs.allSatisfy({ $0.tcpInfoFrom == .unavailable }) && !report.runs.isEmpty
                ? RecommendError.noRoundTripFromIperf3 : RecommendError.noUsableRuns
        }
        // The path MTU as this machine's own sockets found it: a receiving run's is the
        // server's, bounded by the server's MTU as much as by the path.
        let pmtu = report.runs(of: method, direction: .send).filter { $0.tcpInfoFrom == .local }.map { Int($0.tcpInfo.pmtu) }
            .filter { $0 > 0 }.min()
        let tcpMem = ((try? runner.machine.store.read(.tcpMem)) ?? nil).flatMap { try? TCPBufferTriple(parsing: $0) }
        var recommendation = Recommender.recommend(
            measured, pathMTU: pmtu, interfaceMTU: report.mtu, interface: report.egressInterface,
            memoryBytes: Recommender.memoryBytes(meminfo: try? TextFile.read(meminfo, limit: 64 << 10)), tcpMemPages: tcpMem)
        if measured.count < report.directions.count {
            recommendation.reasons.append(
                "Receiving was measured but not sized from: the iperf3 server reports no TCP_INFO, so it gave no round-trip time.")
        }
        let toml = recommendation.toml(name: name, peer: report.peer)
        // What we print or write must be a valid profile.
        _ = try ProfileParser.parse(toml, name: name ?? "recommended", path: "\(name ?? "recommended").toml")
        return Outcome(report: report, recommendation: recommendation, toml: toml)
    }

    /// Whether a recommendation can be written as `<directory>/<name>.toml`, asked
    /// before measuring. Never as kernel-default, which it includes: the file would
    /// include itself, and every profile that includes kernel-default would stop
    /// resolving. Unless `replace`, not over a file, nor beside a profile of the
    /// same name elsewhere on `library`'s path (shipped, /etc): one of the two would
    /// silently decide what `apply NAME` means.
    public static func checkWritable(name: String, into directory: FilePath, library: ProfileLibrary, replace: Bool) throws(RecommendError) {
        guard name != Recommendation.base else { throw .includesItself(name) }
        let path = directory.appending("\(name).toml")
        guard !replace else { return }
        if TextFile.exists(path.string) { throw .exists(path) }
        for place in library.searchPath.directories {
            let other = place.path + "/" + name + ".toml"
            if other != path.string, TextFile.exists(other) { throw .wouldShadow(name: name, other: other) }
        }
    }

    /// Writes `toml` as `<directory>/<name>.toml`, refusing to replace a file
    /// unless `replace`.
    public static func write(_ toml: String, name: String, into directory: FilePath, replace: Bool) throws -> FilePath {
        let path = directory.appending("\(name).toml")
        if !replace && TextFile.exists(path.string) { throw RecommendError.exists(path) }
        try AtomicFile.write(Array(toml.utf8), to: path)
        return path
    }
}

public enum RecommendError: Error, Equatable, CustomStringConvertible {
    case noUsableRuns
    /// Receiving from an iperf3 server: it reports no TCP_INFO, so no RTT.
    case noRoundTripFromIperf3
    case exists(FilePath)
    case includesItself(String)
    case tuningChanged([String])
    case wouldShadow(name: String, other: String)

    public var description: String {
        switch self {
        case .noUsableRuns: return "the probe returned no run with a round-trip time, so there is nothing to size buffers from"
        case .noRoundTripFromIperf3:
            return
                "an iperf3 server sends without reporting its TCP_INFO, so receiving from it gives no round-trip time to size buffers from; recommend against `nettune serve`, or measure sending (without -R)"
        case .exists(let path): return "\(path) exists; choose another name"
        case .tuningChanged(let changes):
            return "the tuning changed while it measured (\(changes.joined(separator: "; "))), so there is no one tuning to size "
                + "from; is another tuner at work (bpftune, tuned)? Stop it and run recommend again"
        case .includesItself(let name):
            return "a recommended profile includes \(name), so it cannot be named \(name): it would include itself, and every profile "
                + "that includes \(name) would stop working; choose another name"
        case .wouldShadow(let name, let other):
            return "a profile named \(name) already exists (\(other)); a second one would decide which of the two `nettune apply \(name)` "
                + "means; choose another name"
        }
    }
}
