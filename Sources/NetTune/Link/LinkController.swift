/// What nettune needs from the interfaces of the current network namespace.
/// The libnl implementation is `NetlinkLinkController`; tests use a fake.
public protocol LinkController {
    /// Every interface, ordered by index.
    func links() throws -> [LinkInfo]
    /// The interface of the main table's default route (IPv4 first, then IPv6), if any.
    func defaultRouteInterface() throws -> String?
    /// Sets an interface's MTU.
    func setMTU(_ mtu: Int, on interface: String) throws
    /// The interface holding a local address: where a connection bound to it leaves.
    func interface(owningAddress address: String) throws -> String?
}

/// An interface name that does not exist in this namespace.
public struct UnknownInterfaceError: Error, CustomStringConvertible, Equatable {
    public let name: String
    public let existing: [String]

    public init(name: String, existing: [String]) {
        self.name = name
        self.existing = existing
    }

    public var description: String {
        "no interface named '\(name)' in this network namespace; existing interfaces: "
            + (existing.isEmpty ? "(none)" : existing.joined(separator: ", "))
    }
}
