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
        var rows = [["NAME", "INDEX", "STATE", "MTU", "MTU RANGE", "TXQLEN", "SPEED", "QDISC", "RATE", "ADDRESSES"]]
        for link in overview.links {
            let marker = link.name == overview.defaultRouteInterface ? " *" : ""
            rows.append([
                link.name + marker,
                String(link.index),
                state(link),
                String(link.mtu),
                range(link),
                link.txQueueLength.map(String.init) ?? "—",
                speed(link),
                link.qdisc?.kind ?? "—",
                link.qdisc?.rateBitsPerSecond.map { BitRate(bitsPerSecond: Double($0)).description } ?? "",
                link.addresses.isEmpty ? "—" : link.addresses.joined(separator: " ")
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
        case .tcpSlowStartAfterIdle:
            return value == "1" ? "an idle connection restarts from slow start" : "an idle connection keeps its window"
        case .tcpModerateRcvbuf:
            return value == "1" ? "receive buffers grow automatically up to tcp_rmem's max" : "receive buffers stay at tcp_rmem's default"
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

    /// The driver's speed and duplex; "virtual" marks a figure no wire stands behind.
    private static func speed(_ link: LinkInfo) -> String {
        guard let bps = link.speedBitsPerSecond else { return "—" }
        var text = BitRate(bitsPerSecond: bps).description
        if let duplex = link.duplex { text += " \(duplex)" }
        return link.physical ? text : text + " (virtual)"
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
