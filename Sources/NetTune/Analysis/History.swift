import Foundation
import SystemPackage

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
    /// The server's tuning as it reported it: a change at the other end is a change
    /// against the baseline too.
    public var remote: TuningState?

    public init(
        sysctls: [String: String], interface: String?, mtu: Int?, kernel: String, peer: String, profiles: [String],
        remote: TuningState? = nil
    ) {
        self.sysctls = sysctls
        self.interface = interface
        self.mtu = mtu
        self.kernel = kernel
        self.peer = peer
        self.profiles = profiles
        self.remote = remote
    }

    /// A short stable id (FNV-1a over the canonical form; the label is not part of it).
    public var id: String {
        var text = sysctls.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ";")
        text += "|\(interface ?? "")|\(mtu.map(String.init) ?? "")|\(kernel)|\(peer)"
        // Only what tunes the far end, not its software version: older entries have none.
        if let remote {
            text +=
                "|remote:"
                + [
                    remote.tcpWmem, remote.tcpRmem, remote.wmemMax.map(String.init), remote.rmemMax.map(String.init),
                    remote.congestion, remote.mtu.map(String.init), remote.kernel
                ].map { $0 ?? "" }.joined(separator: ";")
        }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return String(hash, radix: 16).leftPadded(to: 16).prefix(8).description
    }

    /// Whether the two ran under the same tuning at both ends, whatever the peer was
    /// called: the id covers the peer as typed, so `localhost:9000` and
    /// `127.0.0.1:9000` have different ids for one server and one tuning.
    public func sameTuning(as other: TuningFingerprint) -> Bool {
        var mine = self, theirs = other
        mine.peer = ""
        theirs.peer = ""
        return mine.id == theirs.id
    }

    /// What a person recognises: the applied profile, else the id.
    public var label: String { profiles.last ?? "fingerprint \(id)" }
}

/// One probe result kept for later comparison.
public struct HistoryEntry: Codable, Equatable, Sendable {
    public var time: Int
    public var peer: String
    public var method: String
    /// "send" or "receive"; entries from before directions existed are "send".
    public var direction: String
    public var streams: Int
    public var bytes: Int
    public var fingerprint: TuningFingerprint
    public var fingerprintID: String
    public var throughputs: [Double]
    public var senderCPUSecondsPerGiB: [Double]
    public var receiverCPUSecondsPerGiB: [Double]
    public var bottleneck: String?
    /// What made the entry: a probe, or one side of an `apply --probe` comparison.
    public var source: Source = .probe
    /// Retransmitted segments per run, as the sender counted them.
    public var retransmits: [Int]?
    /// The A/B verdict (for both sides of `apply --probe`), or the change against
    /// the baseline (for a probe that had one).
    public var verdict: Comparison.Verdict?
    /// The numeric address the peer's name resolved to, when it was known: a peer
    /// is found by it as well as by the name it was given.
    public var address: String?

    public enum Source: String, Codable, Sendable {
        case probe
        case applyA = "apply-a"
        case applyB = "apply-b"
    }

    enum CodingKeys: String, CodingKey {
        case time, peer, method, direction, streams, bytes, fingerprint, source, retransmits, verdict, address
        case fingerprintID = "fingerprint_id"
        case throughputs = "throughput_bps"
        case senderCPUSecondsPerGiB = "sender_cpu_s_per_gib"
        case receiverCPUSecondsPerGiB = "receiver_cpu_s_per_gib"
        case bottleneck
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        time = try container.decode(Int.self, forKey: .time)
        peer = try container.decode(String.self, forKey: .peer)
        method = try container.decode(String.self, forKey: .method)
        direction = try container.decodeIfPresent(String.self, forKey: .direction) ?? "send"
        streams = try container.decodeIfPresent(Int.self, forKey: .streams) ?? 1
        bytes = try container.decode(Int.self, forKey: .bytes)
        fingerprint = try container.decode(TuningFingerprint.self, forKey: .fingerprint)
        fingerprintID = try container.decode(String.self, forKey: .fingerprintID)
        throughputs = try container.decode([Double].self, forKey: .throughputs)
        senderCPUSecondsPerGiB = try container.decode([Double].self, forKey: .senderCPUSecondsPerGiB)
        receiverCPUSecondsPerGiB = try container.decode([Double].self, forKey: .receiverCPUSecondsPerGiB)
        bottleneck = try container.decodeIfPresent(String.self, forKey: .bottleneck)
        // Entries from before A/B results were kept are probes; an unknown source too.
        source = (try? container.decodeIfPresent(Source.self, forKey: .source)) ?? .probe
        retransmits = try? container.decodeIfPresent([Int].self, forKey: .retransmits)
        verdict = try? container.decodeIfPresent(Comparison.Verdict.self, forKey: .verdict)
        address = try? container.decodeIfPresent(String.self, forKey: .address)
        let problems = implausibilities()
        guard problems.isEmpty else {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "not a possible result: \(problems.joined(separator: ", "))"))
        }
    }

    public init(report: ProbeReport, method: ProbeMethod, direction: ProbeDirection = .send, fingerprint: TuningFingerprint, time: Int) {
        let runs = report.runs(of: method, direction: direction)
        self.time = time
        peer = report.peer.description
        self.method = method.rawValue
        self.direction = direction == .receive ? "receive" : "send"
        streams = report.streams
        bytes = report.payloadBytes
        self.fingerprint = fingerprint
        fingerprintID = fingerprint.id
        throughputs = runs.map(\.throughputBitsPerSecond)
        senderCPUSecondsPerGiB = runs.map(\.senderCPUSecondsPerGiB)
        receiverCPUSecondsPerGiB = runs.map(\.receiverCPUSecondsPerGiB)
        bottleneck = report.diagnosis(of: method, direction: direction)?.bottleneck.rawValue
        retransmits = runs.map { Int($0.tcpInfo.totalRetransmits) }
        address = report.remoteAddress
    }

    /// The same peer: the same endpoint as named, or the same address and port
    /// (a name and the address it resolved to, or two names for one machine).
    func samePeer(as other: HistoryEntry) -> Bool {
        identity.samePeer(as: other.identity)
    }
}

/// Probe results as JSON lines in a per-user state file.
public struct HistoryStore: Sendable {
    /// Years of weekly probes fit in a fraction of this; of a larger file (hourly
    /// probes of a fleet, for years) only the newest this many bytes are read.
    public static let sizeLimit = 64 << 20

    public let path: FilePath

    public init(path: FilePath) {
        self.path = path
    }

    /// `$XDG_STATE_HOME/nettune/history.jsonl`, else `~/.local/state/nettune/history.jsonl`
    /// (`UserDirectories`: never a shared directory).
    public static func defaultPath(environment: [String: String]) throws(UserDirectoryError) -> FilePath {
        try UserDirectories.directory(
            xdgVariable: "XDG_STATE_HOME", homeFallback: ".local/state", purpose: "probe history", option: "--history",
            environment: environment
        ).appending("history.jsonl")
    }

    /// Adds one line. O_APPEND makes each line's write atomic with respect to other
    /// writers; the directory is made as `AtomicFile` makes it. A last line cut short
    /// (the power went during a write, or the disk filled) is ended first, so this
    /// entry is not glued to it and lost with it.
    public func append(_ entry: HistoryEntry) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var line = Array(try encoder.encode(entry)) + [UInt8(ascii: "\n")]
        try AtomicFile.makeDirectories(path.removingLastComponent())
        do {
            let fd = try FileDescriptor.open(
                path, .readWrite, options: [.create, .append, .closeOnExec],
                permissions: [.ownerReadWrite, .groupRead, .otherRead])
            defer { try? fd.close() }
            let size = try fd.seek(offset: 0, from: .end)
            if size > 0 {
                var last: UInt8 = 0
                let read = try withUnsafeMutableBytes(of: &last) { try fd.read(fromAbsoluteOffset: size - 1, into: $0) }
                if read == 1 && last != UInt8(ascii: "\n") { line.insert(UInt8(ascii: "\n"), at: 0) }
            }
            _ = try fd.writeAll(line)
        } catch {
            throw FileError(path: path, reason: .system(operation: "append", errno: Errno.from(error)))
        }
    }

    /// Every readable entry, oldest first; damaged lines are skipped. A missing file
    /// is an empty history; an unreadable one is an error.
    public func entries() throws -> [HistoryEntry] { try read().entries }

    /// What a read found: the readable entries, oldest first; how many lines were
    /// skipped, damaged or holding figures no measurement gives
    /// (`HistoryEntry.implausibilities`); and whether older lines were left unread
    /// (a file above `sizeLimit`).
    public struct Contents: Sendable {
        public var entries: [HistoryEntry]
        public var skipped: Int
        public var olderLeftOut: Bool
    }

    public func read() throws -> Contents {
        let decoder = JSONDecoder()
        let (lines, cut) = try linesAndCut()
        let entries = lines.compactMap { try? decoder.decode(HistoryEntry.self, from: Data($0)) }
        return Contents(entries: entries, skipped: lines.count - entries.count, olderLeftOut: cut)
    }

    /// The file's lines, as bytes: splitting a `String` walks its characters, which
    /// cost a probe more than decoding the entries it needs. A missing file has none.
    private func lines() throws -> [ArraySlice<UInt8>] { try linesAndCut().lines }

    /// The newest `sizeLimit` bytes' whole lines, and whether older ones were left.
    private func linesAndCut() throws -> (lines: [ArraySlice<UInt8>], cut: Bool) {
        do {
            let (bytes, cut) = try TextFile.readTail(path, limit: Self.sizeLimit)
            var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
            // A tail starts inside a line, unless a line ended just before it.
            if cut { lines.removeFirst() }
            return (lines.filter { !$0.isEmpty }, cut)
        } catch {
            if error.errno == .noSuchFileOrDirectory { return ([], false) }
            throw error
        }
    }

    /// The entries for a peer as a person names it: with a port, that endpoint
    /// exactly; without one (`nas.lan`, `iperf3://nas.lan`), every port of that
    /// host (and of that protocol, when the scheme is given).
    public func entries(forPeer text: String) throws -> [HistoryEntry] { try read(forPeer: text).entries }

    /// `entries(forPeer:)`, with what the read of the whole file found.
    public func read(forPeer text: String) throws -> Contents {
        let wanted = try Endpoint(parsing: text)
        let bare = text.lowercased().hasPrefix("iperf3://") ? String(text.dropFirst("iperf3://".count)) : text
        let portGiven = bare.hasPrefix("[") ? bare.contains("]:") : bare.contains(":")
        let schemeGiven = text.lowercased().hasPrefix("iperf3://")
        var all = try read()
        let host = wanted.host.lowercased()
        // What the name resolved to when it was probed: an entry typed as one of those
        // addresses, or as another name for one, is the same machine — as it is to
        // the baseline finder — without a DNS lookup here.
        let addresses = Set(
            all.entries.compactMap { entry in
                (try? Endpoint(parsing: entry.peer)).flatMap { $0.host.lowercased() == host ? entry.address : nil }
            })
        all.entries = all.entries.filter { entry in
            guard let peer = try? Endpoint(parsing: entry.peer) else { return entry.peer == text }
            let sameMachine =
                peer.host.lowercased() == host || entry.address == wanted.host || addresses.contains(peer.host)
                || entry.address.map(addresses.contains) == true
            guard sameMachine else { return false }
            if portGiven { return peer.port == wanted.port && peer.peerProtocol == wanted.peerProtocol }
            return !schemeGiven || peer.peerProtocol == .iperf3
        }
        return all
    }

    /// The latest entry for the same peer, method, direction and streams whose tuning differed.
    public func baseline(for entry: HistoryEntry) throws -> HistoryEntry? {
        var finder = HistoryBaselineFinder(lines: try lines())
        return finder.baseline(for: entry)
    }

    /// Adds every method's and direction's runs of `report` and returns the first
    /// one's change against its baseline, if there is one.
    /// - Parameter verdicts: an A/B comparison's verdict per direction, stored with
    ///   its entries; a probe's entries store their change against the baseline.
    public func record(
        _ report: ProbeReport, fingerprint: TuningFingerprint, time: Int, source: HistoryEntry.Source = .probe,
        verdicts: [ProbeDirection: Comparison.Verdict] = [:]
    ) throws -> BaselineChange? {
        var change: BaselineChange?
        var first = true
        // Read once, not once per method and direction. What this report adds is of
        // other methods or directions: never one's baseline.
        var past = source == .probe ? HistoryBaselineFinder(lines: try lines()) : nil
        for method in report.methods {
            for direction in report.directions {
                var entry = HistoryEntry(report: report, method: method, direction: direction, fingerprint: fingerprint, time: time)
                entry.source = source
                let against = past?.baseline(for: entry).flatMap { BaselineChange(current: entry, baseline: $0) }
                entry.verdict = verdicts[direction] ?? against?.verdict
                if first { change = against }
                first = false
                try append(entry)
            }
        }
        return change
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
