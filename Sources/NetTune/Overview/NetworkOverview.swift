/// What `nettune show` reports: the TCP buffer sysctls, the interfaces, and which
/// of them carries the default route.
public struct NetworkOverview: Equatable, Sendable {
    public struct Setting: Equatable, Sendable {
        public var key: SysctlKey
        /// Normalised value; nil where the key does not exist in this namespace.
        public var value: String?
    }

    public var sysctls: [Setting]
    public var links: [LinkInfo]
    public var defaultRouteInterface: String?
    public var namespaceInode: UInt64?

    public init(sysctls: [Setting], links: [LinkInfo], defaultRouteInterface: String?, namespaceInode: UInt64?) {
        self.sysctls = sysctls
        self.links = links
        self.defaultRouteInterface = defaultRouteInterface
        self.namespaceInode = namespaceInode
    }

    /// Reads the current state. With `interface`, only that link is listed; an
    /// unknown name is an error listing the ones that exist.
    public static func read(
        sysctls store: some SysctlStore,
        links controller: some LinkController,
        keys: [SysctlKey] = SysctlKey.shown,
        interface: String? = nil
    ) throws -> NetworkOverview {
        var settings: [Setting] = []
        for key in keys { settings.append(Setting(key: key, value: try store.read(key))) }
        var links = try controller.links()
        if let interface {
            guard let link = links.named(interface) else {
                throw UnknownInterfaceError(name: interface, existing: links.map(\.name))
            }
            links = [link]
        }
        return NetworkOverview(
            sysctls: settings,
            links: links,
            defaultRouteInterface: try controller.defaultRouteInterface(),
            namespaceInode: NetworkNamespace.currentInode()
        )
    }
}
