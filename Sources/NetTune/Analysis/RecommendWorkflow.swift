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

    public func run(name: String, progress: ((ProbeStage, ProbeProgress) -> Void)? = nil) throws -> Outcome {
        let report = try runner.run(progress: progress)
        guard let throughput = Statistics.median(report.runs.map(\.throughputBitsPerSecond)),
            let minRTT = report.runs.compactMap(\.tcpInfo.minRTTMicroseconds).min()
        else {
            throw RecommendError.noUsableRuns
        }
        let pmtu = report.runs.map { Int($0.tcpInfo.pmtu) }.min()
        let tcpMem = ((try? runner.machine.store.read(.tcpMem)) ?? nil).flatMap { try? TCPBufferTriple(parsing: $0) }
        let diagnosis = report.diagnosis(of: runner.methods[0])
        let mss = Double(report.runs.map(\.tcpInfo.sndMSS).filter { $0 > 0 }.min() ?? 1448)
        let recommendation = Recommender.recommend(
            throughput: throughput, pathGoodput: diagnosis?.pathRate.map { $0 * mss / (mss + 66) }, minRTTSeconds: Double(minRTT) / 1e6,
            pathMTU: pmtu, interfaceMTU: report.mtu,
            interface: report.egressInterface, bottleneck: diagnosis?.bottleneck ?? .unknown,
            mostlySlowStart: diagnosis?.mostlySlowStart ?? false,
            memoryBytes: Recommender.memoryBytes(meminfo: try? TextFile.read(meminfo, limit: 64 << 10)), tcpMemPages: tcpMem)
        let toml = recommendation.toml(name: name, peer: report.peer, throughput: throughput)
        // What we print or write must be a valid profile.
        _ = try ProfileParser.parse(toml, name: name, path: "\(name).toml")
        return Outcome(report: report, recommendation: recommendation, toml: toml)
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
    case exists(FilePath)

    public var description: String {
        switch self {
        case .noUsableRuns: return "the probe returned no run with a round-trip time, so there is nothing to size buffers from"
        case .exists(let path): return "\(path) exists; choose another name, or replace it"
        }
    }
}
