import Foundation
import SystemPackage

/// Snapshots on disk, one file per network namespace: `<dir>/netns-<inode>.json`.
public struct SnapshotStore: Sendable {
    public static let defaultDirectory = "/var/lib/nettune"

    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    public func path(for inode: UInt64) -> String { "\(directory)/netns-\(inode).json" }

    /// Where `nettune confirm` leaves its answer for a running `nettune try`.
    public func confirmationPath(for inode: UInt64) -> String { "\(directory)/netns-\(inode).confirm" }

    public func load(inode: UInt64) throws -> Snapshot? {
        let file = path(for: inode)
        let text: String
        do {
            text = try TextFile.read(file)
        } catch {
            if error == .noSuchFileOrDirectory { return nil }
            throw StateError(path: file, message: "cannot read the snapshot: \(error)")
        }
        do {
            let snapshot = try JSONDecoder().decode(Snapshot.self, from: Data(text.utf8))
            guard snapshot.format <= Snapshot.currentFormat else {
                throw StateError(path: file, message: "snapshot format \(snapshot.format) is newer than this nettune understands; use the nettune that wrote it")
            }
            return snapshot
        } catch let error as StateError {
            throw error
        } catch {
            throw StateError(path: file, message: "the snapshot is damaged (\(error)); inspect it, restore values by hand, then delete it")
        }
    }

    /// Writes atomically: a temporary file in the same directory, fsync, rename,
    /// fsync of the directory — a crash leaves the old snapshot or the new one.
    public func save(_ snapshot: Snapshot) throws {
        try createDirectory()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let bytes = Array(try encoder.encode(snapshot)) + [UInt8(ascii: "\n")]
        let final = path(for: snapshot.netnsInode)
        let temporary = "\(directory)/.netns-\(snapshot.netnsInode).json.\(getpid()).tmp"
        do {
            let fd = try FileDescriptor.open(FilePath(temporary), .writeOnly,
                                             options: [.create, .truncate], permissions: [.ownerReadWrite])
            do {
                _ = try fd.writeAll(bytes)
                guard fsync(fd.rawValue) == 0 else { throw Errno(rawValue: errno) }
                try fd.close()
            } catch {
                try? fd.close()
                throw error
            }
            guard rename(temporary, final) == 0 else { throw Errno(rawValue: errno) }
            let dir = try FileDescriptor.open(FilePath(directory), .readOnly)
            _ = fsync(dir.rawValue)
            try? dir.close()
        } catch {
            _ = unlink(temporary)
            throw StateError(path: final, message: "cannot save the snapshot: \(error)" + Self.hint(error))
        }
    }

    public func delete(inode: UInt64) throws {
        let file = path(for: inode)
        if unlink(file) != 0 && errno != ENOENT {
            throw StateError(path: file, message: "cannot delete the snapshot: \(Errno(rawValue: errno))")
        }
    }

    func createDirectory() throws {
        var path = ""
        for component in directory.split(separator: "/") {
            path += "/" + component
            if mkdir(path, 0o755) != 0 && errno != EEXIST {
                let error = Errno(rawValue: errno)
                throw StateError(path: directory, message: "cannot create the state directory: \(error)" + Self.hint(error))
            }
        }
    }

    private static func hint(_ error: any Error) -> String {
        guard let errno = error as? Errno, errno == .permissionDenied || errno == .notPermitted || errno == .readOnlyFileSystem else { return "" }
        return "; run with sudo, or choose another place with --state-dir or NETTUNE_STATE_DIR"
    }
}

/// A problem with nettune's own state files.
public struct StateError: Error, Equatable, CustomStringConvertible {
    public var path: String
    public var message: String
    public var description: String { "\(path): \(message)" }
}
