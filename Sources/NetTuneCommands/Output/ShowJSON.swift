import NetTune

/// `nettune show --json`. The shape is a contract (README, pinned by a test):
/// `{"sysctls": {name: value|null}, "links": [...], "default_route_interface": name|null,
///   "netns_inode": n|null}`.
struct ShowJSON: Encodable {
    struct Link: Encodable {
        var name: String
        var index: Int
        var mtu: Int
        @Nullable var minMTU: Int?
        @Nullable var maxMTU: Int?
        var up: Bool
        var operstate: String
        @Nullable var qdisc: String?
        @Nullable var rateBitsPerSecond: UInt64?
        @Nullable var txQueueLength: Int?
        var addresses: [String]
        @Nullable var speedBitsPerSecond: Double?
        @Nullable var duplex: String?
        var physical: Bool

        enum CodingKeys: String, CodingKey {
            case name, index, mtu
            case minMTU = "min_mtu"
            case maxMTU = "max_mtu"
            case up, operstate, qdisc
            case rateBitsPerSecond = "rate_bps"
            case txQueueLength = "txqueuelen"
            case addresses
            case speedBitsPerSecond = "speed_bps"
            case duplex, physical
        }
    }

    var sysctls: [String: String?]
    var links: [Link]
    @Nullable var defaultRouteInterface: String?
    @Nullable var netnsInode: UInt64?

    enum CodingKeys: String, CodingKey {
        case sysctls, links
        case defaultRouteInterface = "default_route_interface"
        case netnsInode = "netns_inode"
    }

    init(_ overview: NetworkOverview) {
        var sysctls: [String: String?] = [:]
        for setting in overview.sysctls { sysctls[setting.key.name] = .some(setting.value) }
        self.sysctls = sysctls
        links = overview.links.map {
            Link(
                name: $0.name, index: $0.index, mtu: $0.mtu, minMTU: $0.minMTU, maxMTU: $0.maxMTU,
                up: $0.adminUp, operstate: $0.operState.rawValue, qdisc: $0.qdisc?.kind,
                rateBitsPerSecond: $0.qdisc?.rateBitsPerSecond, txQueueLength: $0.txQueueLength, addresses: $0.addresses,
                speedBitsPerSecond: $0.speedBitsPerSecond, duplex: $0.duplex, physical: $0.physical)
        }
        defaultRouteInterface = overview.defaultRouteInterface
        netnsInode = overview.namespaceInode
    }
}
