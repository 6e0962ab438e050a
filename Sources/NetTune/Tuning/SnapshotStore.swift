import Foundation
import SystemPackage

/// Snapshots on disk, one file per network namespace: `<dir>/netns-<inode>.json`.
public struct SnapshotStore: Sendable {
    public static let defaultDirectory: FilePath = "/var/lib/nettune"
    /// A snapshot holds a few dozen values; anything larger is not one.
    static let sizeLimit = 256 << 10

    public let directory: FilePath
    /// Only nettune writes snapshots, as root (or as the user running it): a file
    /// anyone else owns or can write is not restored from.
    static var writers: FileTrust { FileTrust(owners: [0, Syscall.effectiveUserID()]) }

    public init(directory: FilePath) {
        self.directory = directory
    }

    public func path(for inode: UInt64) -> String { directory.appending("netns-\(inode).json").string }

    public func load(inode: UInt64) throws -> Snapshot? {
        let file = path(for: inode)
        let bytes: [UInt8]
        do {
            bytes = try TextFile.readBytes(FilePath(file), limit: Self.sizeLimit, trust: Self.writers)
        } catch {
            if error.errno == .noSuchFileOrDirectory { return nil }
            if case .untrusted(let problem) = error.reason {
                throw StateError(
                    path: file,
                    message: "the snapshot is not used: \(problem): nettune writes it as root, mode 0600, "
                        + "and one that someone else could write would decide what revert restores. Restore the values by hand, then delete it")
            }
            throw StateError(path: file, message: "cannot read the snapshot: \(error)")
        }
        let snapshot: Snapshot
        do {
            snapshot = try Snapshot.decode(bytes)
        } catch {
            throw StateError(path: file, message: "\(error); inspect it, restore the values by hand, then delete it")
        }
        guard snapshot.netnsInode == inode else {
            throw StateError(
                path: file,
                message:
                    "the snapshot belongs to network namespace net:[\(snapshot.netnsInode)], not this one (net:[\(inode)]); it was copied or the namespace was recreated: restore its values by hand, then delete it"
            )
        }
        return snapshot
    }

    /// Written atomically (see `AtomicFile`): a crash leaves the old snapshot or the new one.
    public func save(_ snapshot: Snapshot) throws {
        let file = FilePath(path(for: snapshot.netnsInode))
        do {
            try AtomicFile.write(snapshot.encoded(), to: file, permissions: [.ownerReadWrite])
        } catch {
            throw StateError(path: file.string, doing: "cannot save the snapshot", cause: error)
        }
    }

    public func delete(inode: UInt64) throws {
        let file = path(for: inode)
        if unlink(file) != 0 && errno != ENOENT {
            throw StateError(path: file, message: "cannot delete the snapshot: \(Errno(rawValue: errno))")
        }
    }
}

/// A problem with nettune's own state files.
public struct StateError: Error, Equatable, CustomStringConvertible {
    public var path: String
    public var message: String
    /// Why the state directory cannot be written, when the user can do something about it.
    public var problem: Problem?

    public enum Problem: Equatable, Sendable {
        /// Not writable for this user: sudo, or another place.
        case permission
        /// On a read-only file system: another place (sudo cannot help).
        case readOnly
        /// On a full file system: room there, or another place.
        case full
    }

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    /// `doing` failed because of `cause`; the remedy is given once, here, not also
    /// by the file error inside.
    public init(path: String, doing: String, cause: any Error) {
        let errno = (cause as? FileError)?.errno ?? (cause as? Errno)
        let text = (cause as? FileError)?.withoutRemedy ?? "\(cause)"
        self.init(path: path, message: "\(doing): \(text)")
        problem =
            switch errno {
            case .permissionDenied?, .notPermitted?: .permission
            case .readOnlyFileSystem?: .readOnly
            case .noSpace?, .diskQuotaExceeded?: .full
            default: nil
            }
    }

    public var description: String {
        let remedy =
            switch problem {
            case .permission?: "; run with sudo, or keep the state elsewhere"
            case .readOnly?: "; the file system is read-only: keep the state elsewhere"
            case .full?: "; the file system is full: make room there, or keep the state elsewhere"
            case nil: ""
            }
        return "\(path): \(message)\(remedy)"
    }
}
