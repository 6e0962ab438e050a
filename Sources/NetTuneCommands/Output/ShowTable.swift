import NetTune

/// `nettune show` for people.
enum ShowTable {
    static func render(_ overview: NetworkOverview) -> String {
        var out = "TCP settings"
        if let inode = overview.namespaceInode { out += " (network namespace net:[\(inode)])" }
        out += "\n"
        out += TextTable.render(
            overview.sysctls.map { setting in
                [setting.key.name, setting.value ?? "—", explain(setting)]
            })
        out += "\nInterfaces\n"
        var rows = [["NAME", "INDEX", "STATE", "MTU", "MTU RANGE", "QDISC", "RATE"]]
        for link in overview.links {
            let marker = link.name == overview.defaultRouteInterface ? " *" : ""
            rows.append([
                link.name + marker,
                String(link.index),
                state(link),
                String(link.mtu),
                range(link),
                link.qdisc?.kind ?? "—",
                link.qdisc?.rateBitsPerSecond.map { BitRate(bitsPerSecond: Double($0)).description } ?? ""
            ])
        }
        out += TextTable.render(rows)
        if let route = overview.defaultRouteInterface, overview.links.contains(where: { $0.name == route }) {
            out += "  * carries the default route\n"
        } else if overview.defaultRouteInterface == nil {
            out += "  (no default route in this network namespace)\n"
        }
        return out
    }

    private static func explain(_ setting: NetworkOverview.Setting) -> String {
        guard let value = setting.value else { return "not present in this network namespace" }
        switch setting.key {
        case .tcpWmem, .tcpRmem:
            guard let triple = try? TCPBufferTriple(parsing: value) else { return "" }
            return "min \(ByteCount(triple.min)) · default \(ByteCount(triple.default)) · max \(ByteCount(triple.max))"
        case .coreWmemMax, .coreRmemMax, .coreWmemDefault, .coreRmemDefault:
            return Int(value).map { ByteCount($0).description } ?? ""
        case .tcpMem:
            return "pages: low pressure high"
        default:
            return ""
        }
    }

    private static func state(_ link: LinkInfo) -> String {
        guard link.adminUp else { return "down" }
        switch link.operState {
        case .up, .unknown: return "up"
        case .down, .lowerLayerDown: return "up, no carrier"
        default: return "up, \(link.operState.rawValue)"
        }
    }

    private static func range(_ link: LinkInfo) -> String {
        switch (link.minMTU, link.maxMTU) {
        case (let min?, let max?): return "\(min)–\(max)"
        case (let min?, nil): return "\(min)–?"
        case (nil, let max?): return "?–\(max)"
        case (nil, nil): return "—"
        }
    }
}
