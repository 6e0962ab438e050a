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

    public init(store: Store, links: Links, sysfsNet: FilePath = "/sys/class/net", kernel: String = LocalMachine.kernelRelease(),
                snapshots: SnapshotStore? = nil, namespace: UInt64? = NetworkNamespace.currentInode()) {
        self.store = store
        self.links = links
        self.sysfsNet = sysfsNet
        self.kernel = kernel
        self.snapshots = snapshots
        self.namespace = namespace
    }

    /// The interface that holds the connection's local address.
    public func egressLink(localAddress: String?) -> LinkInfo? {
        guard let name = localAddress.flatMap({ try? links.interface(owningAddress: $0) }) else { return nil }
        return (try? links.links())?.named(name)
    }

    /// The sender's side of the story as it is now: shaper, link speed, buffer maxima.
    public func context(link: LinkInfo?) -> DiagnosisContext {
        let wmem = (try? store.read(.tcpWmem)).flatMap { $0 }.flatMap { try? TCPBufferTriple(parsing: $0) }
        let rmem = (try? store.read(.tcpRmem)).flatMap { $0 }.flatMap { try? TCPBufferTriple(parsing: $0) }
        // sysfs reports Mbit/s, or -1 / an error when the driver does not know. A
        // virtual device (veth, tun, bridge: no `device` link) reports a made-up
        // speed, 10 Gbit/s for veth, which limits nothing.
        let speed = link.flatMap(physicalSpeed(of:))
        return DiagnosisContext(shapingRate: link?.qdisc?.rateBitsPerSecond.map { Double($0) }, linkSpeed: speed,
                                interface: link?.name, tcpWmemMax: wmem?.max, tcpRmemMax: rmem?.max)
    }

    /// The driver's link speed in bit/s, for physical devices only.
    func physicalSpeed(of link: LinkInfo) -> Double? {
        let directory = sysfsNet.appending(link.name)
        guard TextFile.exists(directory.appending("device").string),
              let text = try? TextFile.read(directory.appending("speed"), limit: 64),
              let megabits = Double(text.trimmingWhitespace()), megabits > 0
        else { return nil }
        return megabits * 1e6
    }

    /// A report of `runs` with this machine's environment as it is now.
    public func report(peer: Endpoint, payload: PayloadFile, methods: [ProbeMethod], runs: [RunResult],
                       localAddress: String?) -> ProbeReport {
        let link = egressLink(localAddress: localAddress)
        var report = ProbeReport(peer: peer, methods: methods, payloadBytes: payload.size, payloadPath: payload.path,
                                 kernel: kernel, congestion: runs.first?.congestion, egressInterface: link?.name,
                                 mtu: link?.mtu, runs: runs)
        report.context = context(link: link)
        return report
    }

    /// The tuning the report's runs ran under, for the history.
    public func fingerprint(of report: ProbeReport) -> TuningFingerprint {
        var sysctls: [String: String] = [:]
        for key in SysctlKey.shown {
            if let value = (try? store.read(key)) ?? nil { sysctls[key.name] = value }
        }
        var profiles: [String] = []
        if let snapshots, let namespace, let snapshot = (try? snapshots.load(inode: namespace)) ?? nil {
            profiles = snapshot.profiles
        }
        return TuningFingerprint(sysctls: sysctls, interface: report.egressInterface, mtu: report.mtu,
                                 kernel: report.kernel, peer: report.peer.description, profiles: profiles)
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
