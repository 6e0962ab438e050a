import ArgumentParser
import Foundation
import NetTune
import SystemPackage

/// Where profiles are looked up.
struct ProfileOptions: ParsableArguments {
    @Option(
        name: .customLong("profiles"),
        help: ArgumentHelp(
            "Look for profiles in this directory first (repeatable); then /etc/nettune/profiles, then the shipped ones.", valueName: "dir"))
    var directories: [String] = []

    var library: ProfileLibrary {
        ProfileLibrary(searchPath: .standard(extra: directories, executable: ExecutablePath.current()))
    }
}

/// Where snapshots of replaced values are kept.
struct StateOptions: ParsableArguments {
    @Option(
        name: .customLong("state-dir"),
        help: ArgumentHelp("Where snapshots and locks are kept (default: $NETTUNE_STATE_DIR, else /var/lib/nettune).", valueName: "dir"),
        transform: { try AtomicFile.absolute($0) })
    var directory: FilePath?

    @Option(
        name: .customLong("lock-wait"), parsing: .unconditional,
        help: ArgumentHelp("How long to wait while another nettune is changing this network namespace (default: 10s).", valueName: "duration"),
        transform: Parse.duration)
    var lockWait = TimeSpanArgument(.seconds(10))

    var snapshots: SnapshotStore {
        get throws {
            if let directory { return SnapshotStore(directory: directory) }
            if let environment = ProcessInfo.processInfo.environment["NETTUNE_STATE_DIR"], !environment.isEmpty {
                return SnapshotStore(directory: try AtomicFile.absolute(environment))
            }
            return SnapshotStore(directory: SnapshotStore.defaultDirectory)
        }
    }
}

/// The real machine: /proc/sys, netlink, this network namespace.
enum SystemTuner {
    static func make(state: StateOptions) throws -> Tuner<ProcSysStore, NetlinkLinkController> {
        guard let namespace = NetworkNamespace.currentInode() else {
            throw CommandError("cannot identify this network namespace: /proc/self/ns/net is not readable")
        }
        let holder = "nettune " + CommandLine.arguments.dropFirst().joined(separator: " ")
        return Tuner(
            store: ProcSysStore(), links: NetlinkLinkController(), snapshots: try state.snapshots, namespace: namespace,
            holder: String(holder.prefix(200)), lockWait: state.lockWait.duration,
            onLockWait: { holder in
                let who = holder.map { " (\($0))" } ?? ""
                StandardError.print("waiting for another nettune\(who) to finish changing this network namespace …")
            })
    }

    static func machine(state: StateOptions) -> LocalMachine<ProcSysStore, NetlinkLinkController> {
        .system(snapshots: try? state.snapshots)
    }
}

/// A failure of the command itself (not of its arguments): printed as
/// "Error: …", exit status 1, no usage text.
struct CommandError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
