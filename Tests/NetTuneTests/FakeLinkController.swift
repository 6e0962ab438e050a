@testable import NetTune

/// An in-memory link store: what the kernel would report, and a log of changes.
final class FakeLinkController: LinkController {
    var current: [LinkInfo]
    var defaultRoute: String?
    /// Local addresses and the interface holding each.
    var addresses: [String: String] = [:]
    /// Makes the n-th `setMTU` call (0-based) fail, to test rollback.
    var failOnSetMTUCall: Int?
    private(set) var setMTUCalls = 0

    init(_ links: [LinkInfo], defaultRoute: String? = nil) {
        current = links
        self.defaultRoute = defaultRoute
    }

    func links() throws -> [LinkInfo] { current }

    func defaultRouteInterface() throws -> String? { defaultRoute }

    func interface(owningAddress address: String) throws -> String? { addresses[address] }

    func setMTU(_ mtu: Int, on interface: String) throws {
        defer { setMTUCalls += 1 }
        if failOnSetMTUCall == setMTUCalls {
            throw NetlinkError(operation: "rtnl_link_change (mtu \(mtu))", code: 7, subject: interface)
        }
        guard let i = current.firstIndex(where: { $0.name == interface }) else {
            throw UnknownInterfaceError(name: interface, existing: current.map(\.name))
        }
        current[i].mtu = mtu
    }
}
