import ArgumentParser
import NetTune

/// Where profiles are looked up.
struct ProfileOptions: ParsableArguments {
    @Option(name: .customLong("profiles"),
            help: ArgumentHelp("Look for profiles in this directory first (repeatable); then /etc/nettune/profiles, then the shipped ones.", valueName: "dir"))
    var directories: [String] = []

    var library: ProfileLibrary {
        ProfileLibrary(searchPath: .standard(extra: directories, executable: ExecutablePath.current()))
    }
}

/// Where snapshots of replaced values are kept.
struct StateOptions: ParsableArguments {
    @Option(name: .customLong("state-dir"),
            help: ArgumentHelp("Where snapshots are kept (default: $NETTUNE_STATE_DIR, else /var/lib/nettune).", valueName: "dir"))
    var directory: String?

    var snapshots: SnapshotStore {
        let environment = getenv("NETTUNE_STATE_DIR").map { String(cString: $0) }
        return SnapshotStore(directory: directory ?? environment.flatMap { $0.isEmpty ? nil : $0 } ?? SnapshotStore.defaultDirectory)
    }
}

/// The real machine: /proc/sys, netlink, this network namespace.
enum SystemTuner {
    static func make(state: StateOptions) throws -> Tuner<ProcSysStore, NetlinkLinkController> {
        guard let namespace = NetworkNamespace.currentInode() else {
            throw ValidationError("cannot identify this network namespace: /proc/self/ns/net is not readable")
        }
        return Tuner(store: ProcSysStore(), links: NetlinkLinkController(), snapshots: state.snapshots, namespace: namespace)
    }
}

#if canImport(Glibc)
import Glibc
#endif
