import Glibc
import SystemPackage

/// The one way nettune writes a file: directories made as needed, then a
/// temporary file beside the target, fsync, rename over the target, fsync of the
/// directory. A crash leaves the old content or the new, never half of either.
public enum AtomicFile {
    /// Writes `bytes` to `path`, replacing what was there.
    public static func write(
        _ bytes: [UInt8], to path: FilePath,
        permissions: FilePermissions = [.ownerReadWrite, .groupRead, .otherRead]
    ) throws(FileError) {
        try write(to: path, permissions: permissions) { fd throws(Errno) in
            do { _ = try fd.writeAll(bytes) } catch { throw Errno.from(error) }
        }
    }

    /// Writes whatever `fill` writes into the temporary descriptor (large files in pieces).
    public static func write(
        to path: FilePath, permissions: FilePermissions,
        _ fill: (FileDescriptor) throws(Errno) -> Void
    ) throws(FileError) {
        guard !path.isEmpty, let name = path.lastComponent else { throw FileError(path: path, reason: .emptyPath) }
        let directory = path.removingLastComponent()
        try makeDirectories(directory)
        // Unique per call: two writers of one file (threads included) never share a temporary.
        let temporary = directory.appending(".\(name).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp")
        func fail(_ operation: String, _ errno: Errno) -> FileError {
            _ = unlink(temporary.string)
            return FileError(path: path, reason: .system(operation: operation, errno: errno))
        }
        let fd: FileDescriptor
        do {
            // Made here, never found: in a directory others can write, a name taken
            // first (a symlink) fails instead of being written through.
            fd = try FileDescriptor.open(
                temporary, .writeOnly, options: [.create, .exclusiveCreate, .noFollow, .closeOnExec],
                permissions: permissions)
        } catch {
            throw FileError(path: path, reason: .system(operation: "create", errno: Errno.from(error)))
        }
        do {
            try fill(fd)
            guard fsync(fd.rawValue) == 0 else { throw Errno(rawValue: errno) }
        } catch {
            try? fd.close()
            throw fail("write", Errno.from(error))
        }
        do { try fd.close() } catch { throw fail("close", Errno.from(error)) }
        guard rename(temporary.string, path.string) == 0 else { throw fail("rename", Errno(rawValue: errno)) }
        if let dir = try? FileDescriptor.open(directory, .readOnly, options: [.directory, .closeOnExec]) {
            _ = fsync(dir.rawValue)
            try? dir.close()
        }
    }

    /// `mkdir -p`: every missing directory of `path`, mode 0755.
    public static func makeDirectories(_ path: FilePath) throws(FileError) {
        guard !path.isEmpty else { throw FileError(path: path, reason: .emptyPath) }
        var current = path.root.map { FilePath(root: $0) } ?? FilePath()
        for component in path.components {
            current.append(component)
            if mkdir(current.string, 0o755) != 0 && errno != EEXIST {
                throw FileError(path: current, reason: .system(operation: "mkdir", errno: Errno(rawValue: errno)))
            }
        }
    }

    /// An absolute path for a user's argument: a relative one is taken from the
    /// current directory, as every other tool does. Empty is refused.
    public static func absolute(_ text: String) throws(FileError) -> FilePath {
        guard !text.isEmpty else { throw FileError(path: FilePath(text), reason: .emptyPath) }
        let path = FilePath(text)
        if path.isAbsolute { return path.lexicallyNormalized() }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else {
            throw FileError(path: path, reason: .system(operation: "getcwd", errno: Errno(rawValue: errno)))
        }
        let cwd = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return FilePath(cwd).pushing(path).lexicallyNormalized()
    }
}
