import CNetlink
import Glibc

// Swift owners for libnl objects: each frees what it owns in `deinit`. Pointers
// borrowed from a cache are only used while that cache's owner is alive.

/// An `nl_sock` connected to NETLINK_ROUTE.
final class RouteSocket {
    let raw: OpaquePointer

    init() throws(NetlinkError) {
        guard let socket = nl_socket_alloc() else {
            throw NetlinkError(operation: "nl_socket_alloc", code: NLE_NOMEM)
        }
        let rc = nl_connect(socket, Int32(NETLINK_ROUTE))
        if rc < 0 {
            nl_socket_free(socket)
            throw NetlinkError(operation: "nl_connect", code: -rc)
        }
        raw = socket
    }

    deinit { nl_socket_free(raw) }
}

/// An `nl_cache` filled from the kernel.
final class NetlinkCache {
    let raw: OpaquePointer

    init(_ operation: String, fill: (inout OpaquePointer?) -> Int32) throws(NetlinkError) {
        var cache: OpaquePointer?
        try nlCall(operation) { fill(&cache) }
        guard let cache else { throw NetlinkError(operation: operation, code: NLE_NOCACHE) }
        raw = cache
    }

    deinit { nl_cache_free(raw) }

    /// The cached objects, borrowed: valid while this cache is alive.
    var objects: [OpaquePointer] {
        var result: [OpaquePointer] = []
        var object = nl_cache_get_first(raw)
        while let current = object {
            result.append(current)
            object = nl_cache_get_next(current)
        }
        return result
    }
}

/// An `rtnl_link` we hold a reference to.
final class NetlinkLink {
    let raw: OpaquePointer

    /// A fresh, empty link object: the sparse "change" half of `rtnl_link_change`.
    init() throws(NetlinkError) {
        guard let link = rtnl_link_alloc() else {
            throw NetlinkError(operation: "rtnl_link_alloc", code: NLE_NOMEM)
        }
        raw = link
    }

    /// The kernel's current view of one interface.
    init(named name: String, socket: RouteSocket) throws(NetlinkError) {
        var link: OpaquePointer?
        try nlCall("rtnl_link_get_kernel", subject: name) { rtnl_link_get_kernel(socket.raw, 0, name, &link) }
        guard let link else { throw NetlinkError(operation: "rtnl_link_get_kernel", code: NLE_OBJ_NOTFOUND, subject: name) }
        raw = link
    }

    deinit { rtnl_link_put(raw) }
}
