import Foundation
import SystemPackage

/// Snapshots on disk, one file per network namespace: `<dir>/netns-<inode>.json`.
public struct SnapshotStore: Sendable {
    public static let defaultDirectory: FilePath = "/var/lib/nettune"
    /// A snapshot holds a few dozen values; anything larger is not one.
    static let sizeLimit = 256 << 10

    public let directory: FilePath

    public init(directory: FilePath) {
        self.directory = directory
    }

    public func path(for inode: UInt64) -> String { directory.appending("netns-\(inode).json").string }

    public func load(inode: UInt64) throws -> Snapshot? {
        let file = path(for: inode)
        let bytes: [UInt8]
        do {
            bytes = try TextFile.readBytes(FilePath(file), limit: Self.sizeLimit)
        } catch {
            if error.errno == .noSuchFileOrDirectory { return nil }
            throw StateError(path: file, message: "cannot read the snapshot: \(error)")
        }
        let snapshot: Snapshot
        do {
            snapshot = try Snapshot.decode(bytes)
        } catch {
            throw StateError(path: file, message: "\(error); inspect it, restore the values by hand, then delete it")
        }
        guard snapshot.netnsInode == inode else {
            throw StateError(path: file, message: "the snapshot belongs to network namespace net:[\(snapshot.netnsInode)], not this one (net:[\(inode)]); it was copied or the namespace was recreated: restore its values by hand, then delete it")
        }
        return snapshot
    }

    /// Written atomically (see `AtomicFile`): a crash leaves the old snapshot or the new one.
    public func save(_ snapshot: Snapshot) throws {
        let file = FilePath(path(for: snapshot.netnsInode))
        do {
            try AtomicFile.write(snapshot.encoded(), to: file, permissions: [.ownerReadWrite])
        } catch {
            throw StateError(path: file.string, message: "cannot save the snapshot: \(error)" + StateError.privilegeHint(error))
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

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }

    /// What to do when the state directory is not writable.
    static func privilegeHint(_ error: any Error) -> String {
        let errno = (error as? FileError)?.errno ?? (error as? Errno)
        guard let errno, errno == .permissionDenied || errno == .notPermitted || errno == .readOnlyFileSystem else { return "" }
        return "; run with sudo, or keep state elsewhere (NETTUNE_STATE_DIR)"
    }
}
