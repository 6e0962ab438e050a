import NetTune

/// `nettune show --json`. The shape is a contract (README, pinned by a test):
/// `{"sysctls": {name: value|null}, "links": [...], "default_route_interface": name|null,
///   "netns_inode": n|null}`.
struct ShowJSON: Encodable {
    struct Link: Encodable {
        var name: String
        var index: Int
        var mtu: Int
        var minMTU: Int?
        var maxMTU: Int?
        var up: Bool
        var operstate: String
        var qdisc: String?
        var rateBitsPerSecond: UInt64?

        enum CodingKeys: String, CodingKey {
            case name, index, mtu, minMTU = "min_mtu", maxMTU = "max_mtu", up, operstate, qdisc
            case rateBitsPerSecond = "rate_bps"
        }

        // Absent values are written as null, never left out: scripts can rely on every key.
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(name, forKey: .name)
            try container.encode(index, forKey: .index)
            try container.encode(mtu, forKey: .mtu)
            try container.encode(minMTU, forKey: .minMTU)
            try container.encode(maxMTU, forKey: .maxMTU)
            try container.encode(up, forKey: .up)
            try container.encode(operstate, forKey: .operstate)
            try container.encode(qdisc, forKey: .qdisc)
            try container.encode(rateBitsPerSecond, forKey: .rateBitsPerSecond)
        }
    }

    var sysctls: [String: String?]
    var links: [Link]
    var defaultRouteInterface: String?
    var netnsInode: UInt64?

    enum CodingKeys: String, CodingKey {
        case sysctls, links, defaultRouteInterface = "default_route_interface", netnsInode = "netns_inode"
    }

    init(_ overview: NetworkOverview) {
        var sysctls: [String: String?] = [:]
        for setting in overview.sysctls { sysctls[setting.key.name] = .some(setting.value) }
        self.sysctls = sysctls
        links = overview.links.map {
            Link(name: $0.name, index: $0.index, mtu: $0.mtu, minMTU: $0.minMTU, maxMTU: $0.maxMTU,
                 up: $0.adminUp, operstate: $0.operState.rawValue, qdisc: $0.qdisc?.kind,
                 rateBitsPerSecond: $0.qdisc?.rateBitsPerSecond)
        }
        defaultRouteInterface = overview.defaultRouteInterface
        netnsInode = overview.namespaceInode
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(sysctls, forKey: .sysctls)
        try container.encode(links, forKey: .links)
        try container.encode(defaultRouteInterface, forKey: .defaultRouteInterface)
        try container.encode(netnsInode, forKey: .netnsInode)
    }
}
