import Foundation

/// The tuning a probe ran under: equal fingerprints mean "nothing was tuned in
/// between", so a baseline is the latest result under a *different* one.
public struct TuningFingerprint: Codable, Equatable, Sendable {
    /// The sysctls `show` lists, as they were (absent keys left out).
    public var sysctls: [String: String]
    public var interface: String?
    public var mtu: Int?
    public var kernel: String
    public var peer: String
    /// Profiles nettune had applied in this namespace (from its snapshot), for a label.
    public var profiles: [String]

    public init(sysctls: [String: String], interface: String?, mtu: Int?, kernel: String, peer: String, profiles: [String]) {
        self.sysctls = sysctls
        self.interface = interface
        self.mtu = mtu
        self.kernel = kernel
        self.peer = peer
        self.profiles = profiles
    }

    /// A short stable id (FNV-1a over the canonical form; the label is not part of it).
    public var id: String {
        var text = sysctls.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ";")
        text += "|\(interface ?? "")|\(mtu.map(String.init) ?? "")|\(kernel)|\(peer)"
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return String(hash, radix: 16).leftPadded(to: 16).prefix(8).description
    }

    /// What a person recognises: the applied profile, else the id.
    public var label: String { profiles.last ?? "fingerprint \(id)" }
}

/// One probe result kept for later comparison.
public struct HistoryEntry: Codable, Equatable, Sendable {
    public var time: Int
    public var peer: String
    public var method: String
    public var bytes: Int
    public var fingerprint: TuningFingerprint
    public var fingerprintID: String
    public var throughputs: [Double]
    public var senderCPUSecondsPerGiB: [Double]
    public var receiverCPUSecondsPerGiB: [Double]
    public var bottleneck: String?

    enum CodingKeys: String, CodingKey {
        case time, peer, method, bytes, fingerprint, fingerprintID = "fingerprint_id", throughputs = "throughput_bps"
        case senderCPUSecondsPerGiB = "sender_cpu_s_per_gib", receiverCPUSecondsPerGiB = "receiver_cpu_s_per_gib", bottleneck
    }

    public init(report: ProbeReport, method: ProbeMethod, fingerprint: TuningFingerprint, time: Int) {
        let runs = report.runs(of: method)
        self.time = time
        peer = report.peer.description
        self.method = method.rawValue
        bytes = report.payloadBytes
        self.fingerprint = fingerprint
        fingerprintID = fingerprint.id
        throughputs = runs.map(\.throughputBitsPerSecond)
        senderCPUSecondsPerGiB = runs.map(\.senderCPUSecondsPerGiB)
        receiverCPUSecondsPerGiB = runs.map(\.receiverCPUSecondsPerGiB)
        bottleneck = report.diagnosis(of: method)?.bottleneck.rawValue
    }
}

/// Probe results as JSON lines in a per-user state file.
public struct HistoryStore: Sendable {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    /// `$XDG_STATE_HOME/nettune/history.jsonl`, else `~/.local/state/nettune/history.jsonl`.
    public static func defaultPath(environment: [String: String]) -> String {
        if let state = environment["XDG_STATE_HOME"], state.hasPrefix("/") { return state + "/nettune/history.jsonl" }
        return (environment["HOME"] ?? "/tmp") + "/.local/state/nettune/history.jsonl"
    }

    public func append(_ entry: HistoryEntry) throws {
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var line = try encoder.encode(entry)
        line.append(UInt8(ascii: "\n"))
        if !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: line)
    }

    /// Every readable entry, oldest first; damaged lines are skipped.
    public func entries() -> [HistoryEntry] {
        guard let text = try? TextFile.read(path) else { return [] }
        let decoder = JSONDecoder()
        return text.split(separator: "\n").compactMap { try? decoder.decode(HistoryEntry.self, from: Data($0.utf8)) }
    }

    /// The latest entry for the same peer and method whose tuning differed.
    public func baseline(for entry: HistoryEntry) -> HistoryEntry? {
        entries().last { $0.peer == entry.peer && $0.method == entry.method && $0.fingerprintID != entry.fingerprintID }
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
