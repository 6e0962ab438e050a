import CNetlink
import Glibc

/// Reads `IFLA_MIN_MTU` / `IFLA_MAX_MTU` for every interface.
///
/// libnl 3.7 parses RTM_NEWLINK into `rtnl_link` objects but keeps no getter for
/// these two attributes, so this sends its own RTM_GETLINK dump through libnl and
/// reads them from the raw messages. (sysfs has no file for them either.)
enum MTUBoundsReader {
    struct Bounds: Equatable {
        var min: Int?
        var max: Int?
    }

    /// Collects results from the C callback; only touched on this thread.
    fileprivate final class Collector {
        var bounds: [Int: Bounds] = [:]
    }

    static func read() throws(NetlinkError) -> [Int: Bounds] {
        let socket = try RouteSocket()
        let collector = Collector()
        let context = Unmanaged.passUnretained(collector).toOpaque()
        try nlCall("nl_socket_modify_cb") {
            nl_socket_modify_cb(
                socket.raw, NL_CB_VALID, NL_CB_CUSTOM,
                { message, context in
                    guard let message, let context, let header = nlmsg_hdr(message) else {
                        return Int32(NL_SKIP.rawValue)
                    }
                    let collector = Unmanaged<Collector>.fromOpaque(context).takeUnretainedValue()
                    collector.record(header)
                    return Int32(NL_OK.rawValue)
                }, context)
        }
        var request = ifinfomsg()
        request.ifi_family = UInt8(AF_UNSPEC)
        try nlCall("nl_send_simple(RTM_GETLINK)") {
            nl_send_simple(socket.raw, Int32(RTM_GETLINK), NLM_F_DUMP, &request, MemoryLayout<ifinfomsg>.size)
        }
        try nlCall("nl_recvmsgs_default") { nl_recvmsgs_default(socket.raw) }
        return withExtendedLifetime(collector) { collector.bounds }
    }
}

extension MTUBoundsReader.Collector {
    fileprivate func record(_ header: UnsafeMutablePointer<nlmsghdr>) {
        guard header.pointee.nlmsg_type == UInt16(RTM_NEWLINK),
            Int(header.pointee.nlmsg_len) >= MemoryLayout<nlmsghdr>.size + MemoryLayout<ifinfomsg>.size,
            let payload = nlmsg_data(header)
        else { return }
        let info = payload.loadUnaligned(as: ifinfomsg.self)
        // Attributes above IFLA_MAX_MTU are skipped by nla_parse, so the table
        // only needs room up to it.
        let maxType = Int(IFLA_MAX_MTU)
        var table = [UnsafeMutablePointer<nlattr>?](repeating: nil, count: maxType + 1)
        let rc = nlmsg_parse(header, Int32(MemoryLayout<ifinfomsg>.size), &table, Int32(maxType), nil)
        guard rc >= 0 else { return }
        // Drivers without limits (loopback, ifb) report 0 for both: "not reported".
        let maxMTU = table[maxType].map { Int(nla_get_u32($0)) }.flatMap { $0 > 0 ? $0 : nil }
        let minMTU = maxMTU == nil ? nil : table[Int(IFLA_MIN_MTU)].map { Int(nla_get_u32($0)) }
        bounds[Int(info.ifi_index)] = MTUBoundsReader.Bounds(min: minMTU, max: maxMTU)
    }
}
