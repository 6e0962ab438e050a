import Foundation

/// The values nettune replaced in one network namespace, so `revert` can put them
/// back. Only the first apply records a value: applying a second profile adds the
/// keys it newly touches but never overwrites an original.
public struct Snapshot: Codable, Equatable, Sendable {
    public static let currentFormat = 1

    public var format: Int
    /// Inode of the network namespace (`/proc/self/ns/net`) this belongs to.
    public var netnsInode: UInt64
    /// Seconds since the epoch of the first apply.
    public var created: Int
    /// Profiles applied since, in order.
    public var profiles: [String]
    /// Original sysctl values by dotted name.
    public var sysctls: [String: String]
    /// Original MTUs by interface name.
    public var mtus: [String: Int]
    /// Which profile recorded each original ("net.ipv4.tcp_wmem", "mtu:eth0"), so
    /// one profile's changes can be taken back alone. Older snapshots lack it:
    /// their originals count as the first profile's.
    public var owners: [String: String]
    /// The boot and the namespace's cookie it was taken in (see `NamespaceInstance`).
    /// Older snapshots lack them, and count as this life's.
    public var bootID: String?
    public var netnsCookie: UInt64?

    public init(
        netnsInode: UInt64, created: Int, instance: NamespaceInstance? = nil, profiles: [String] = [],
        sysctls: [String: String] = [:], mtus: [String: Int] = [:], owners: [String: String] = [:]
    ) {
        format = Self.currentFormat
        self.netnsInode = netnsInode
        self.created = created
        bootID = instance?.bootID
        netnsCookie = instance?.cookie
        self.profiles = profiles
        self.sysctls = sysctls
        self.mtus = mtus
        self.owners = owners
    }

    enum CodingKeys: String, CodingKey {
        case format
        case netnsInode = "netns_inode"
        case created, profiles, sysctls, mtus, owners
        case bootID = "boot_id"
        case netnsCookie = "netns_cookie"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        format = try container.decode(Int.self, forKey: .format)
        netnsInode = try container.decode(UInt64.self, forKey: .netnsInode)
        created = try container.decode(Int.self, forKey: .created)
        profiles = try container.decode([String].self, forKey: .profiles)
        sysctls = try container.decode([String: String].self, forKey: .sysctls)
        mtus = try container.decode([String: Int].self, forKey: .mtus)
        owners = try container.decodeIfPresent([String: String].self, forKey: .owners) ?? [:]
        bootID = try container.decodeIfPresent(String.self, forKey: .bootID)
        netnsCookie = try container.decodeIfPresent(UInt64.self, forKey: .netnsCookie)
    }

    /// Which earlier life of the namespace this was taken in, or nil when it may be
    /// the present one (a figure either side lacks proves nothing).
    public func earlierLife(than present: NamespaceInstance) -> EarlierLife? {
        present.earlierLife(of: NamespaceInstance(bootID: bootID, cookie: netnsCookie))
    }

    static func ownerKey(_ target: Change.Target) -> String {
        switch target {
        case .sysctl(let key): return key.name
        case .mtu(let interface): return "mtu:\(interface)"
        }
    }

    /// The profile that recorded `target`'s original.
    public func owner(of target: Change.Target) -> String? {
        owners[Self.ownerKey(target)] ?? profiles.first
    }

    /// Records the current values of everything `changes` touches, keeping any
    /// original already recorded.
    public mutating func record(_ changes: [Change], profile: String) {
        for change in changes {
            var recorded = false
            switch change.target {
            case .sysctl(let key):
                if sysctls[key.name] == nil {
                    sysctls[key.name] = change.from
                    recorded = true
                }
            case .mtu(let interface):
                if mtus[interface] == nil, let mtu = Int(change.from) {
                    mtus[interface] = mtu
                    recorded = true
                }
            }
            if recorded { owners[Self.ownerKey(change.target)] = profile }
        }
        profiles.append(profile)
    }

    /// Forgets what `profile` recorded, after it was reverted alone.
    public mutating func forget(_ profile: String, targets: [Change.Target]) {
        for target in targets {
            switch target {
            case .sysctl(let key): sysctls[key.name] = nil
            case .mtu(let interface): mtus[interface] = nil
            }
            owners[Self.ownerKey(target)] = nil
        }
        profiles.removeAll { $0 == profile }
    }

    public var isEmpty: Bool { sysctls.isEmpty && mtus.isEmpty }

    /// "profiles pi-lan, taken 2026-11-20 10:04 UTC": what messages name it by.
    public var label: String {
        let names = profiles.isEmpty ? "no profile" : (profiles.count == 1 ? "profile " : "profiles ") + profiles.joined(separator: ", ")
        var time = tm()
        var seconds = time_t(created)
        guard gmtime_r(&seconds, &time) != nil else { return names }
        let taken = String(
            format: "%04d-%02d-%02d %02d:%02d UTC", Int(time.tm_year) + 1900, Int(time.tm_mon) + 1, Int(time.tm_mday),
            Int(time.tm_hour), Int(time.tm_min))
        return "\(names), taken \(taken)"
    }
}

extension Snapshot {
    /// Decodes and checks a snapshot file's bytes. They may have been edited or
    /// damaged: every value must be one nettune could have written, or the whole
    /// snapshot is refused rather than half restored.
    public static func decode(_ bytes: [UInt8]) throws(SnapshotDecodingError) -> Snapshot {
        let snapshot: Snapshot
        do {
            snapshot = try JSONDecoder().decode(Snapshot.self, from: Data(bytes))
        } catch {
            throw .damaged("not a nettune snapshot (\(Self.summary(of: error)))")
        }
        guard snapshot.format >= 1 else { throw .damaged("format \(snapshot.format) does not exist") }
        guard snapshot.format <= currentFormat else { throw .newerFormat(snapshot.format) }
        if let bootID = snapshot.bootID, !NamespaceInstance.isBootID(bootID) {
            throw .damaged("'\(PeerText.sanitized(bootID, limit: 80))' is not a boot id")
        }
        for (name, value) in snapshot.sysctls {
            guard (try? SysctlKey(name)) != nil else { throw .damaged("'\(PeerText.sanitized(name, limit: 80))' is not a sysctl key") }
            guard !value.isEmpty, value.utf8.count <= 4096, !value.contains(where: { $0.isNewline }) else {
                throw .damaged("the value of \(name) is not one a sysctl holds")
            }
        }
        for (target, owner) in snapshot.owners where target.utf8.count > 256 || owner.utf8.count > 256 {
            throw .damaged("owner record '\(PeerText.sanitized(target, limit: 80))' is not one nettune writes")
        }
        for (interface, mtu) in snapshot.mtus {
            guard InterfaceName.isValid(interface) else { throw .damaged("'\(PeerText.sanitized(interface, limit: 80))' is not an interface name") }
            guard LinkSettings.heldMTURange.contains(mtu) else { throw .damaged("MTU \(mtu) for \(interface) is not an MTU") }
        }
        return snapshot
    }

    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        // Encoding plain strings and integers cannot fail.
        return ((try? Array(encoder.encode(self))) ?? []) + [UInt8(ascii: "\n")]
    }

    private static func summary(of error: any Error) -> String {
        switch error as? DecodingError {
        case .dataCorrupted: return "invalid JSON"
        case .keyNotFound(let key, _): return "no \(key.stringValue)"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "wrong type at \(context.codingPath.map(\.stringValue).joined(separator: "."))"
        default: return "\(error)"
        }
    }
}

/// A snapshot file that cannot be trusted.
public enum SnapshotDecodingError: Error, Equatable, CustomStringConvertible {
    case damaged(String)
    case newerFormat(Int)

    public var description: String {
        switch self {
        case .damaged(let what): return "damaged snapshot: \(what)"
        case .newerFormat(let format): return "snapshot format \(format) is newer than this nettune understands; use the nettune that wrote it"
        }
    }
}
