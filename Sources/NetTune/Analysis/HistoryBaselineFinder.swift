import Foundation

extension HistoryEntry {
    /// What finding a baseline compares: an entry's peer, method, direction, streams
    /// and fingerprint id, decoded with the same defaults as the whole entry.
    struct Identity: Decodable, Equatable {
        var peer: String
        var method: String
        var direction: String
        var streams: Int
        var fingerprintID: String
        var address: String?

        init(peer: String, method: String, direction: String, streams: Int, fingerprintID: String, address: String?) {
            self.peer = peer
            self.method = method
            self.direction = direction
            self.streams = streams
            self.fingerprintID = fingerprintID
            self.address = address
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            peer = try container.decode(String.self, forKey: .peer)
            method = try container.decode(String.self, forKey: .method)
            direction = try container.decodeIfPresent(String.self, forKey: .direction) ?? "send"
            streams = try container.decodeIfPresent(Int.self, forKey: .streams) ?? 1
            fingerprintID = try container.decode(String.self, forKey: .fingerprintID)
            address = try? container.decodeIfPresent(String.self, forKey: .address)
        }

        /// The same peer: the same endpoint as named, or the same address and port
        /// (a name and the address it resolved to, or two names for one machine).
        func samePeer(as other: Identity) -> Bool {
            if peer == other.peer { return true }
            guard let address, address == other.address, let mine = try? Endpoint(parsing: peer),
                let theirs = try? Endpoint(parsing: other.peer)
            else { return false }
            return mine.port == theirs.port && mine.peerProtocol == theirs.peerProtocol
        }

        /// Whether `self` is a baseline for `current`: the same peer, method,
        /// direction and streams under different tuning.
        func isBaseline(for current: Identity) -> Bool {
            samePeer(as: current) && method == current.method && direction == current.direction
                && streams == current.streams && fingerprintID != current.fingerprintID
        }
    }

    var identity: Identity {
        Identity(peer: peer, method: method, direction: direction, streams: streams, fingerprintID: fingerprintID, address: address)
    }
}

/// Finds baselines in a history's lines, newest first. A line's identity is decoded
/// when a search first reaches it and a whole entry only when it matches: a whole
/// entry (its fingerprint's sysctls, its runs) costs several times its identity, and
/// a probe should not pay for decoding years of history it does not show.
struct HistoryBaselineFinder {
    private let lines: [ArraySlice<UInt8>]
    /// Per line: not decoded yet (nil), damaged (.some(nil)), or its identity.
    private var identities: [HistoryEntry.Identity??]
    private let decoder = JSONDecoder()

    init(lines: [ArraySlice<UInt8>]) {
        self.lines = lines
        identities = Array(repeating: nil, count: lines.count)
    }

    /// The latest entry whose identity makes it a baseline for `entry` and that
    /// decodes whole (a damaged line is skipped, as `HistoryStore.entries()` skips it).
    mutating func baseline(for entry: HistoryEntry) -> HistoryEntry? {
        let current = entry.identity
        for index in lines.indices.reversed() {
            guard let identity = identity(at: index), identity.isBaseline(for: current),
                let whole = try? decoder.decode(HistoryEntry.self, from: Data(lines[index])),
                // The same server by another name, nothing tuned: not a baseline.
                !whole.fingerprint.sameTuning(as: entry.fingerprint)
            else { continue }
            return whole
        }
        return nil
    }

    private mutating func identity(at index: Int) -> HistoryEntry.Identity? {
        if let known = identities[index] { return known }
        let decoded = try? decoder.decode(HistoryEntry.Identity.self, from: Data(lines[index]))
        identities[index] = .some(decoded)
        return decoded
    }
}
