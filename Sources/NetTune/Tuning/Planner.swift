/// Compares a resolved profile with the live state and lists what would change.
public struct Planner<Store: SysctlStore, Links: LinkController> {
    public var store: Store
    public var links: Links
    /// Where boot-time sysctl configuration is looked for (see `BootSysctlConfig`).
    public var bootConfig: BootSysctlConfig

    public init(store: Store, links: Links, bootConfig: BootSysctlConfig = .system) {
        self.store = store
        self.links = links
        self.bootConfig = bootConfig
    }

    /// - Parameter interface: overrides the profile's interface for the MTU.
    public func plan(_ profile: Profile, interface: String? = nil) throws -> Plan {
        var changes: [Change] = []
        var unchanged: [Change] = []
        var warnings: [TuningWarning] = []

        for (key, wanted) in profile.sortedSysctls {
            guard let current = try store.read(key) else {
                throw PlanError(
                    .missingKey,
                    "\(key) does not exist on this kernel or in this network namespace; remove it from profile '\(profile.name)' (\(profile.path))")
            }
            let change = Change(.sysctl(key), from: current, to: wanted)
            if SysctlValue.same(current, wanted) {
                unchanged.append(change)
                continue
            }
            guard store.isWritable(key) else {
                throw PlanError(
                    .readOnlyKey,
                    "\(key) is read-only in this network namespace (the kernel shares it with the initial namespace); apply profile '\(profile.name)' on the host, or remove the key from it"
                )
            }
            changes.append(change)
        }

        if let mtu = profile.link.mtu {
            let all = try links.links()
            let name: String
            if let chosen = interface ?? profile.link.interface {
                name = chosen
            } else if let route = try links.defaultRouteInterface() {
                name = route
            } else {
                throw PlanError(
                    .noInterface,
                    "profile '\(profile.name)' sets an MTU for the default-route interface, but this network namespace has no default route; name the interface"
                )
            }
            guard let link = all.named(name) else {
                throw UnknownInterfaceError(name: name, existing: all.map(\.name))
            }
            if let min = link.minMTU, let max = link.maxMTU, !(min...max).contains(mtu) {
                throw PlanError(
                    .mtuOutOfRange, "MTU \(mtu) is outside what \(name) accepts (\(min)–\(max)); choose a value in that range or another interface")
            }
            let change = Change(.mtu(interface: name), from: String(link.mtu), to: String(mtu))
            if link.mtu == mtu { unchanged.append(change) } else { changes.append(change) }
        } else if let interface {
            // Named for nothing: still a name that must exist (a typo is not applied
            // in silence), and the user is told it changes nothing.
            let all = try links.links()
            guard all.named(interface) != nil else { throw UnknownInterfaceError(name: interface, existing: all.map(\.name)) }
            warnings.append(TuningWarning("profile '\(profile.name)' sets no MTU: the interface named (\(interface)) changes nothing"))
        }

        warnings += try bufferCapWarnings(changes + unchanged)
        warnings += bootConfig.overrides(for: changes + unchanged)
        return Plan(profile: profile.name, changes: changes, unchanged: unchanged, warnings: warnings)
    }

    /// `net.core.{w,r}mem_max` cap what applications ask for with SO_SNDBUF/SO_RCVBUF,
    /// not what autotuning grows to: say so when the TCP max is above the cap.
    private func bufferCapWarnings(_ settings: [Change]) throws -> [TuningWarning] {
        func wanted(_ key: SysctlKey) throws -> String? {
            if let setting = settings.first(where: { $0.target == .sysctl(key) }) { return setting.to }
            return try store.read(key)
        }
        var warnings: [TuningWarning] = []
        for (tcp, core, option) in [
            (SysctlKey.tcpWmem, SysctlKey.coreWmemMax, "SO_SNDBUF"),
            (.tcpRmem, .coreRmemMax, "SO_RCVBUF")
        ] {
            guard settings.contains(where: { $0.target == .sysctl(tcp) || $0.target == .sysctl(core) }),
                let tcpValue = try wanted(tcp), let triple = try? TCPBufferTriple(parsing: tcpValue),
                let coreValue = try wanted(core), let cap = Int(coreValue), triple.max > cap
            else { continue }
            warnings.append(
                TuningWarning(
                    "\(tcp) max \(ByteCount(triple.max)) is above \(core) \(ByteCount(cap)): autotuned sockets can grow to it, "
                        + "but applications that set \(option) themselves are capped at \(ByteCount(cap))"))
        }
        return warnings
    }
}
