import CNetlink

/// The root qdisc of every interface, with the shaping rate of `tbf` and `htb`.
enum RootQdiscReader {
    static func read(socket: RouteSocket) throws(NetlinkError) -> [Int: Qdisc] {
        let cache = try NetlinkCache("rtnl_qdisc_alloc_cache") { rtnl_qdisc_alloc_cache(socket.raw, &$0) }
        var result: [Int: Qdisc] = [:]
        for qdisc in cache.objects {
            let tc = cnl_qdisc_as_tc(qdisc)
            guard rtnl_tc_get_parent(tc) == cnl_tc_handle_root(), let kindText = rtnl_tc_get_kind(tc) else { continue }
            let ifindex = Int(rtnl_tc_get_ifindex(tc))
            let kind = String(cString: kindText)
            var rate: UInt64?
            switch kind {
            case "tbf":
                // libnl reports the tbf rate in bytes per second.
                let bytesPerSecond = rtnl_qdisc_tbf_get_rate(qdisc)
                if bytesPerSecond > 0 { rate = UInt64(bytesPerSecond) * 8 }
            case "htb":
                rate = try htbRate(socket: socket, ifindex: ifindex, handle: rtnl_tc_get_handle(tc))
            default:
                break
            }
            result[ifindex] = Qdisc(kind: kind, rateBitsPerSecond: rate)
        }
        return result
    }

    /// An htb root qdisc carries no rate itself; what the link can send is the sum of
    /// the ceilings of its top-level classes. The kernel reports those with parent
    /// TC_H_ROOT rather than the qdisc's handle, so accept either.
    private static func htbRate(socket: RouteSocket, ifindex: Int, handle: UInt32) throws(NetlinkError) -> UInt64? {
        let classes = try NetlinkCache("rtnl_class_alloc_cache") {
            rtnl_class_alloc_cache(socket.raw, Int32(ifindex), &$0)
        }
        var total: UInt64 = 0
        var found = false
        for cls in classes.objects {
            let tc = cnl_class_as_tc(cls)
            let parent = rtnl_tc_get_parent(tc)
            guard parent == handle || parent == cnl_tc_handle_root() else { continue }
            var ceil: UInt64 = 0
            // libnl reports htb rates in bytes per second.
            if rtnl_htb_get_ceil64(cls, &ceil) == 0 {
                total += ceil * 8
                found = true
            }
        }
        return found ? total : nil
    }
}
