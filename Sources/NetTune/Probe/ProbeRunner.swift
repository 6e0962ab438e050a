import Glibc

/// Runs a probe campaign: a warm-up, then `runs` rounds of every method,
/// interleaved (A B C A B C …) so slow drift of the machine hits all methods alike.
public struct ProbeRunner: Sendable {
    public var request: ProbeRequest
    public var methods: [ProbeMethod]
    public var runs: Int
    /// Bytes of the untimed warm-up transfer (0: none).
    public var warmupBytes: Int

    public init(request: ProbeRequest, methods: [ProbeMethod], runs: Int, warmupBytes: Int) {
        self.request = request
        self.methods = methods
        self.runs = runs
        self.warmupBytes = warmupBytes
    }

    public enum Stage: Sendable {
        case warmup
        case run(index: Int, of: Int)
    }

    public func run(progress: ((Stage, ProbeProgress) -> Void)? = nil) throws -> ProbeReport {
        let client = ProbeClient(request)
        if warmupBytes > 0, let first = methods.first {
            _ = try client.run(first, limit: min(warmupBytes, request.payload.size)) { progress?(.warmup, $0) }
        }
        var results: [RunResult] = []
        var localAddress: String?
        let total = runs * methods.count
        for round in 0..<runs {
            for (i, method) in methods.enumerated() {
                let index = round * methods.count + i + 1
                let (result, local) = try client.run(method) { progress?(.run(index: index, of: total), $0) }
                results.append(result)
                localAddress = localAddress ?? local
            }
        }
        return Self.report(request: request, methods: methods, runs: results, localAddress: localAddress)
    }

    /// A report with the environment of this machine as it is now.
    public static func report(request: ProbeRequest, methods: [ProbeMethod], runs: [RunResult], localAddress: String?) -> ProbeReport {
        let link = egressLink(localAddress: localAddress)
        var report = ProbeReport(peer: request.endpoint, methods: methods, payloadBytes: request.payload.size,
                                 payloadPath: request.payload.path, kernel: kernelRelease(),
                                 congestion: runs.first?.congestion, egressInterface: link?.name, mtu: link?.mtu, runs: runs)
        report.context = context(link: link)
        return report
    }

    /// The interface that holds the connection's local address.
    public static func egressLink(localAddress: String?) -> LinkInfo? {
        let links = NetlinkLinkController()
        guard let name = localAddress.flatMap({ try? links.interface(owningAddress: $0) }) else { return nil }
        return (try? links.links())?.named(name)
    }

    /// The sender's side of the story: shaper, link speed, buffer maxima.
    public static func context(link: LinkInfo?) -> DiagnosisContext {
        let store = ProcSysStore()
        let wmem = (try? store.read(.tcpWmem)).flatMap { $0 }.flatMap { try? TCPBufferTriple(parsing: $0) }
        let rmem = (try? store.read(.tcpRmem)).flatMap { $0 }.flatMap { try? TCPBufferTriple(parsing: $0) }
        // sysfs reports Mbit/s, or -1 / an error when the driver does not know.
        let speed = link.flatMap { try? TextFile.read("/sys/class/net/\($0.name)/speed") }
            .flatMap { Double($0.trimmingWhitespace()) }.flatMap { $0 > 0 ? $0 * 1e6 : nil }
        return DiagnosisContext(shapingRate: link?.qdisc?.rateBitsPerSecond.map { Double($0) }, linkSpeed: speed,
                                interface: link?.name, tcpWmemMax: wmem?.max, tcpRmemMax: rmem?.max)
    }

    static func kernelRelease() -> String {
        var name = utsname()
        guard uname(&name) == 0 else { return "unknown" }
        return withUnsafeBytes(of: name.release) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}
