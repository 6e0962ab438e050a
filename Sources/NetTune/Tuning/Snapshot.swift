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

    public init(netnsInode: UInt64, created: Int, profiles: [String] = [], sysctls: [String: String] = [:], mtus: [String: Int] = [:]) {
        format = Self.currentFormat
        self.netnsInode = netnsInode
        self.created = created
        self.profiles = profiles
        self.sysctls = sysctls
        self.mtus = mtus
    }

    enum CodingKeys: String, CodingKey {
        case format, netnsInode = "netns_inode", created, profiles, sysctls, mtus
    }

    /// Records the current values of everything `changes` touches, keeping any
    /// original already recorded.
    public mutating func record(_ changes: [Change], profile: String) {
        for change in changes {
            switch change.target {
            case .sysctl(let key):
                if sysctls[key.name] == nil { sysctls[key.name] = change.from }
            case .mtu(let interface):
                if mtus[interface] == nil, let mtu = Int(change.from) { mtus[interface] = mtu }
            }
        }
        profiles.append(profile)
    }
}
