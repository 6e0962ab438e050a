import CNetlink
import Glibc

/// Interfaces of the current network namespace, through libnl-route-3.
public struct NetlinkLinkController: LinkController, Sendable {
    public init() {}

    public func links() throws -> [LinkInfo] {
        let socket = try RouteSocket()
        let cache = try NetlinkCache("rtnl_link_alloc_cache") {
            rtnl_link_alloc_cache(socket.raw, AF_UNSPEC, &$0)
        }
        let bounds = try MTUBoundsReader.read()
        let qdiscs = try RootQdiscReader.read(socket: socket)
        let addresses = try self.addresses(socket: socket)
        let links = cache.objects.map { link -> LinkInfo in
            let index = Int(rtnl_link_get_ifindex(link))
            let name = rtnl_link_get_name(link).map { String(cString: $0) } ?? "if\(index)"
            let driver = SysfsLinkReader.read(name)
            return LinkInfo(
                index: index,
                name: name,
                mtu: Int(rtnl_link_get_mtu(link)),
                minMTU: bounds[index]?.min,
                maxMTU: bounds[index]?.max,
                adminUp: rtnl_link_get_flags(link) & UInt32(IFF_UP) != 0,
                operState: OperState(kernelValue: rtnl_link_get_operstate(link)),
                qdisc: qdiscs[index],
                txQueueLength: Int(rtnl_link_get_txqlen(link)),
                addresses: addresses[index] ?? [],
                speedBitsPerSecond: driver.speed, duplex: driver.duplex, physical: driver.physical
            )
        }
        return links.sorted { $0.index < $1.index }
    }

    public func defaultRouteInterface() throws -> String? {
        let socket = try RouteSocket()
        for family in [AF_INET, AF_INET6] {
            let routes = try NetlinkCache("rtnl_route_alloc_cache") {
                rtnl_route_alloc_cache(socket.raw, family, 0, &$0)
            }
            // The main table's unicast 0/0 route with the lowest metric wins, as in
            // the kernel's own lookup.
            var best: (priority: UInt32, ifindex: Int32)?
            for route in routes.objects {
                guard rtnl_route_get_table(route) == UInt32(RT_TABLE_MAIN.rawValue),
                    rtnl_route_get_type(route) == UInt8(RTN_UNICAST),
                    let destination = rtnl_route_get_dst(route),
                    nl_addr_get_prefixlen(destination) == 0,
                    rtnl_route_get_nnexthops(route) > 0,
                    let nexthop = rtnl_route_nexthop_n(route, 0)
                else { continue }
                let ifindex = rtnl_route_nh_get_ifindex(nexthop)
                let priority = rtnl_route_get_priority(route)
                if ifindex > 0, best == nil || priority < best!.priority {
                    best = (priority, ifindex)
                }
            }
            if let best {
                var buffer = [CChar](repeating: 0, count: Int(IF_NAMESIZE) + 1)
                if if_indextoname(UInt32(best.ifindex), &buffer) != nil {
                    let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
                    return String(decoding: bytes, as: UTF8.self)
                }
            }
        }
        return nil
    }

    public func setMTU(_ mtu: Int, on interface: String) throws {
        let socket = try RouteSocket()
        let current: NetlinkLink
        do {
            current = try NetlinkLink(named: interface, socket: socket)
        } catch {
            let existing = try links().map(\.name)
            if !existing.contains(interface) { throw UnknownInterfaceError(name: interface, existing: existing) }
            throw error
        }
        // rtnl_link_set_mtu only edits a local object; rtnl_link_change sends the
        // difference between the kernel's object and this sparse one.
        let change = try NetlinkLink()
        rtnl_link_set_mtu(change.raw, UInt32(mtu))
        try nlCall("rtnl_link_change (mtu \(mtu))", subject: interface) {
            rtnl_link_change(socket.raw, current.raw, change.raw, 0)
        }
    }
}

extension NetlinkLinkController {
    /// The interface holding a local address (the egress of a connection bound to
    /// it), from libnl's address cache.
    /// Every address of every interface, as `address/prefix`, by interface index.
    private func addresses(socket: RouteSocket) throws -> [Int: [String]] {
        let cache = try NetlinkCache("rtnl_addr_alloc_cache") { rtnl_addr_alloc_cache(socket.raw, &$0) }
        var byIndex: [Int: [(family: Int32, text: String)]] = [:]
        for entry in cache.objects {
            guard let local = rtnl_addr_get_local(entry) else { continue }
            var buffer = [CChar](repeating: 0, count: 128)
            guard let text = nl_addr2str(local, &buffer, buffer.count) else { continue }
            var address = String(cString: text)
            // A host address prints without its prefix: add the one the entry has.
            if !address.contains("/") { address += "/\(rtnl_addr_get_prefixlen(entry))" }
            byIndex[Int(rtnl_addr_get_ifindex(entry)), default: []].append((nl_addr_get_family(local), address))
        }
        return byIndex.mapValues { list in list.sorted { $0.family < $1.family }.map(\.text) }
    }

    public func interface(owningAddress address: String) throws -> String? {
        let socket = try RouteSocket()
        let cache = try NetlinkCache("rtnl_addr_alloc_cache") { rtnl_addr_alloc_cache(socket.raw, &$0) }
        var wanted: OpaquePointer?
        try nlCall("nl_addr_parse", subject: address) { nl_addr_parse(address, AF_UNSPEC, &wanted) }
        guard let wanted else { return nil }
        defer { nl_addr_put(wanted) }
        for entry in cache.objects {
            guard let local = rtnl_addr_get_local(entry) else { continue }
            // Compare the address bits only: the cached entry carries its prefix length.
            guard nl_addr_get_family(local) == nl_addr_get_family(wanted),
                nl_addr_get_len(local) == nl_addr_get_len(wanted),
                memcmp(nl_addr_get_binary_addr(local), nl_addr_get_binary_addr(wanted), Int(nl_addr_get_len(wanted))) == 0
            else { continue }
            var buffer = [CChar](repeating: 0, count: Int(IF_NAMESIZE) + 1)
            if if_indextoname(UInt32(rtnl_addr_get_ifindex(entry)), &buffer) != nil {
                return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
        }
        return nil
    }
}
