import ArgumentParser
import Foundation
import NetTune

extension NetTuneCommand {
    struct Recommend: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure a peer and print a profile sized from the result.",
            discussion: """
                Runs a short probe, sizes tcp_wmem/tcp_rmem from the measured bandwidth-delay \
                product (with headroom, capped by the machine's memory and tcp_mem), checks the \
                path MTU the peer carries (TCP_INFO's pmtu), and prints a profile that includes \
                kernel-default and overrides only what the measurement justifies.
                """
        )

        @Argument(help: ArgumentHelp("Where `nettune serve` listens.", valueName: "host:port"))
        var peer: Endpoint

        @Option(name: .long, help: ArgumentHelp("Write the profile as NAME.toml into --directory instead of printing it.", valueName: "name"))
        var write: String?

        @Option(name: .long, help: ArgumentHelp("Where --write puts the profile.", valueName: "dir"))
        var directory = ProfileSearchPath.systemDirectory

        @Flag(name: .long, help: "Replace an existing profile of that name.")
        var force = false

        @Option(name: .long, help: "Measured runs.")
        var runs = 3

        @OptionGroup(title: "Probe options") var probe: ProbeOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            if let write, !ProfileReference.isPlainName(write) { throw ValidationError("--write takes a plain name such as lan-measured") }
            guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
        }

        func run() throws {
            var options = probe
            if options.size.bytes == 230 << 20 && options.file == nil && options.time == nil { options.size = SizeArgument(64 << 20) }
            let request = try options.request(to: peer)
            let report = try ProbeRunner(request: request, methods: [options.method], runs: runs, warmupBytes: options.warmup.bytes).run()
            let runsDone = report.runs
            guard let throughput = Statistics.median(runsDone.map(\.throughputBitsPerSecond)),
                  let minRTT = runsDone.compactMap({ $0.tcpInfo.minRTTMicroseconds }).min() else {
                throw ValidationError("the probe returned no usable runs")
            }
            let pmtu = runsDone.map { Int($0.tcpInfo.pmtu) }.min()
            let tcpMem = ((try? ProcSysStore().read(.tcpMem)) ?? nil).flatMap { try? TCPBufferTriple(parsing: $0) }
            let recommendation = Recommender.recommend(
                throughput: throughput, minRTTSeconds: Double(minRTT) / 1e6, pathMTU: pmtu, interfaceMTU: report.mtu,
                interface: report.egressInterface, bottleneck: report.diagnosis(of: options.method)?.bottleneck ?? .unknown,
                memoryBytes: Recommender.memoryBytes(meminfo: try? TextFile.read("/proc/meminfo")), tcpMemPages: tcpMem)
            let name = write ?? "recommended"
            let toml = recommendation.toml(name: name, peer: peer, throughput: throughput)
            // What we print or write must be a valid profile.
            _ = try ProfileParser.parse(toml, name: name, path: "\(name).toml")

            if let write {
                let path = "\(directory)/\(write).toml"
                if FileManager.default.fileExists(atPath: path) && !force {
                    throw ValidationError("\(path) exists; choose another name or pass --force")
                }
                do {
                    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                    try toml.write(toFile: path, atomically: true, encoding: .utf8)
                } catch {
                    throw ValidationError("cannot write \(path): \(error.localizedDescription); run with sudo or choose --directory")
                }
                StandardError.print("wrote \(path); try it with: sudo nettune apply \(write) --probe \(peer)")
            }
            if output.json {
                print(try JSONOutput.encode(RecommendJSON(recommendation, toml: toml, path: write.map { "\(directory)/\($0).toml" })))
            } else if write == nil {
                print(toml, terminator: "")
            }
        }
    }
}

/// `recommend --json`: `{"sysctls": {...}, "mtu", "reasons": [...], "profile": TOML text, "path"}`.
struct RecommendJSON: Encodable {
    var sysctls: [String: String]
    @Nullable var mtu: Int?
    var reasons: [String]
    var profile: String
    @Nullable var path: String?

    init(_ recommendation: Recommendation, toml: String, path: String?) {
        sysctls = Dictionary(uniqueKeysWithValues: recommendation.sysctls.map { ($0.key.name, $0.value) })
        mtu = recommendation.mtu
        reasons = recommendation.reasons
        profile = toml
        self.path = path
    }
}
