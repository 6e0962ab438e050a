import ArgumentParser
import Foundation
import NetTune
import SystemPackage

extension NetTuneCommand {
    struct Recommend: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure a peer and print a profile sized from the result.",
            discussion: """
                Runs a short probe (64 MiB unless --size or --time say otherwise) in the \
                direction asked for (sending; -R receiving; --bidir both), sizes \
                tcp_wmem/tcp_rmem from the measured bandwidth-delay product (the larger of the \
                two with --bidir; with headroom, capped by the machine's memory and tcp_mem), \
                checks the path MTU the peer carries (TCP_INFO's pmtu, where this machine \
                sends), and prints a profile that includes kernel-default and overrides only \
                what the measurement justifies. tcp_wmem acts on the sending end and tcp_rmem \
                on the receiving one: apply the profile on both.
                """
        )

        static let defaultSize = 64 << 20

        @Argument(
            help: ArgumentHelp(
                "Where `nettune serve` listens (port 9000 unless given), or iperf3://HOST[:PORT] for an iperf3 server.", valueName: "host[:port]"),
            transform: Parse.endpoint)
        var peer: Endpoint

        @Option(name: .long, help: ArgumentHelp("Write the profile as NAME.toml into --directory instead of printing it.", valueName: "name"))
        var write: String?

        @Option(
            name: .long, help: ArgumentHelp("Where --write puts the profile (default: /etc/nettune/profiles).", valueName: "dir"),
            transform: { try AtomicFile.absolute($0) })
        var directory = FilePath(ProfileSearchPath.systemDirectory)

        @Flag(name: .long, help: "Replace an existing profile of that name.")
        var force = false

        @Option(
            name: .long, parsing: .unconditional, help: ArgumentHelp("Measured runs, 1 to \(Probe.maximumRuns) (default: 3).", valueName: "n"),
            transform: Parse.count(1...Probe.maximumRuns))
        var runs = 3

        @OptionGroup(title: "Probe options") var probe: ProbeOptions
        @OptionGroup(title: "Probe options") var ways: DirectionOptions
        @OptionGroup var state: StateOptions
        @OptionGroup var output: OutputOptions

        /// The profiles `apply NAME --profiles DIRECTORY` would search.
        private var searchedWithDirectory: ProfileLibrary {
            ProfileLibrary(searchPath: .standard(extra: [directory.string], executable: ExecutablePath.current()))
        }

        func validate() throws {
            if let write, !ProfileReference.isPlainName(write) { throw ValidationError("--write takes a plain name such as lan-measured") }
        }

        func run() throws {
            // Before measuring: a name that cannot be written is known now.
            if let write {
                try RecommendWorkflow<ProcSysStore, NetlinkLinkController>.checkWritable(
                    name: write, into: directory, library: searchedWithDirectory, replace: force)
            }
            let interruption = try Interruption.install()
            let request = try probe.request(
                to: peer, direction: ways.direction, defaultSize: probe.time == nil ? Self.defaultSize : ProbeOptions.defaultSize,
                interruption: interruption)
            let runner = ProbeRunner(
                transport: ProbeTransports.client(request, interruption: interruption), machine: SystemTuner.machine(state: state),
                payload: request.payload, methods: [probe.method], runs: runs, warmupBytes: probe.warmup.bytes)
            let progress = ProgressLine()
            let outcome: RecommendWorkflow<ProcSysStore, NetlinkLinkController>.Outcome
            do {
                outcome = try progress.around {
                    try RecommendWorkflow(runner: runner).run(name: write) { stage, step in
                        progress.show("measuring: " + ProbeTable.progressLine(stage, step))
                    }
                }
            } catch let error as Interrupted {
                throw WordedFailure(line: "\(error): nothing was written", exitStatus: error.exitCode)
            }

            var path: FilePath?
            if let write {
                path = try RecommendWorkflow<ProcSysStore, NetlinkLinkController>.write(
                    outcome.toml, name: write, into: directory, replace: force)
                // `apply NAME` finds the profile only where the search path looks.
                let searched = directory == FilePath(ProfileSearchPath.systemDirectory)
                StandardError.print(
                    "wrote \(directory.appending("\(write).toml")); try it with: sudo nettune apply \(write)"
                        + (searched ? "" : " --profiles \(directory)") + " --probe \(peer)")
            }
            if output.json {
                print(try JSONOutput.encode(RecommendJSON(outcome.recommendation, toml: outcome.toml, path: path?.string)))
            } else if write == nil {
                print(outcome.toml, terminator: "")
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
