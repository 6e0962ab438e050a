import Glibc
import SystemPackage

/// The facts about this machine that a probe report, its diagnosis and the
/// history need, read through the same seams as the tuning (so a workflow's unit
/// test sees its fake sysctls and links, not the host's).
public struct LocalMachine<Store: SysctlStore, Links: LinkController> {
    public var store: Store
    public var links: Links
    /// Where each interface's `speed` is read (`/sys/class/net/NAME/speed`).
    public var sysfsNet: FilePath
    public var kernel: String
    /// Where the applied profiles' names are found for the history's label.
    public var snapshots: SnapshotStore?
    public var namespace: UInt64?
    /// A snapshot from an earlier life of the namespace names no applied profile.
    public var instance: NamespaceInstance

    public init(
        store: Store, links: Links, sysfsNet: FilePath = "/sys/class/net", kernel: String = LocalMachine.kernelRelease(),
        snapshots: SnapshotStore? = nil, namespace: UInt64? = NetworkNamespace.currentInode(),
        instance: NamespaceInstance = .current()
    ) {
        self.store = store
        self.links = links
        self.sysfsNet = sysfsNet
        self.kernel = kernel
        self.snapshots = snapshots
        self.namespace = namespace
        self.instance = instance
    }

    /// The interface that holds the connection's local address.
    public func egressLink(localAddress: String?) -> LinkInfo? {
        guard let name = localAddress.flatMap({ try? links.interface(owningAddress: $0) }) else { return nil }
        return (try? links.links())?.named(name)
    }

    /// The driver's link speed in bit/s, for physical devices only (a veth's
    /// 10 Gbit/s is no limit anyone measured).
    func physicalSpeed(of link: LinkInfo) -> Double? {
        let facts = SysfsLinkReader.read(link.name, root: sysfsNet)
        return facts.physical ? facts.speed : nil
    }

    /// This machine's tuning toward a peer reached from `localAddress`, as a probe
    /// reports it (and the server sends it).
    public func tuningState(localAddress: String?) -> TuningState {
        let link = egressLink(localAddress: localAddress)
        func value(_ key: SysctlKey) -> String? { (try? store.read(key)) ?? nil }
        return TuningState(
            tcpWmem: value(.tcpWmem), tcpRmem: value(.tcpRmem), wmemMax: value(.coreWmemMax).flatMap { Int($0) },
            rmemMax: value(.coreRmemMax).flatMap { Int($0) }, congestion: value(.tcpCongestionControl),
            // A description, never used to address the link: an interface may be named
            // with control characters, which no terminal, history or peer should get.
            mtu: link?.mtu, interface: link.map { PeerText.sanitized($0.name, limit: 64) }, kernel: kernel, version: NetTuneVersion.current,
            shapingRate: link?.qdisc?.rateBitsPerSecond.flatMap { Int(exactly: $0) },
            linkSpeed: link.flatMap(physicalSpeed(of:)).map { Int($0) }, qdisc: link?.qdisc?.kind,
            defaultQdisc: value(.coreDefaultQdisc))
    }

    /// A report of `runs` with this machine's environment as it is now.
    public func report(
        peer: Endpoint, payload: PayloadFile, methods: [ProbeMethod], direction: ProbeDirection, streams: Int,
        runs: [RunResult], localAddress: String?, remote: TuningState?
    ) -> ProbeReport {
        let local = tuningState(localAddress: localAddress)
        return ProbeReport(
            peer: peer, methods: methods, direction: direction, streams: streams, payloadBytes: payload.size,
            payloadPath: payload.path, kernel: kernel, congestion: runs.first?.congestion,
            egressInterface: local.interface, mtu: local.mtu, runs: runs, local: local, remote: remote)
    }

    /// The tuning the report's runs ran under, for the history.
    public func fingerprint(of report: ProbeReport) -> TuningFingerprint {
        var sysctls: [String: String] = [:]
        for key in SysctlKey.shown {
            if let value = (try? store.read(key)) ?? nil { sysctls[key.name] = value }
        }
        var profiles: [String] = []
        if let snapshots, let namespace, let snapshot = (try? snapshots.load(inode: namespace)) ?? nil,
            snapshot.earlierLife(than: instance) == nil
        {
            profiles = snapshot.profiles
        }
        return TuningFingerprint(
            sysctls: sysctls, interface: report.egressInterface, mtu: report.mtu,
            kernel: report.kernel, peer: report.peer.description, profiles: profiles, remote: report.remote)
    }

    public static func kernelRelease() -> String {
        var name = utsname()
        guard (try? Syscall.call { uname(&name) }) != nil else { return "unknown" }
        return withUnsafeBytes(of: name.release) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}

extension LocalMachine where Store == ProcSysStore, Links == NetlinkLinkController {
    /// This machine, through /proc/sys and netlink.
    public static func system(snapshots: SnapshotStore?) -> LocalMachine {
        LocalMachine(store: ProcSysStore(), links: NetlinkLinkController(), snapshots: snapshots)
    }
}

extension LocalMachine: Sendable where Store: Sendable, Links: Sendable {}
