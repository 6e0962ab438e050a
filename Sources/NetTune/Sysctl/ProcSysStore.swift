import Glibc
import SystemPackage

/// Sysctls as files under a root directory: `/proc/sys` for real, a temporary
/// directory in tests.
public struct ProcSysStore: SysctlStore, Sendable {
    public let root: FilePath

    public init(root: FilePath = "/proc/sys") {
        self.root = root
    }

    public func path(of key: SysctlKey) -> FilePath {
        var path = root
        for component in key.components { path.append(FilePath.Component(stringLiteral: component)) }
        return path
    }

    public func read(_ key: SysctlKey) throws(SysctlError) -> String? {
        do {
            return SysctlValue.normalize(try TextFile.read(path(of: key)))
        } catch {
            if error == .noSuchFileOrDirectory || error == .notDirectory { return nil }
            throw SysctlError(.read, key: key, errno: error)
        }
    }

    /// procfs shows each sysctl's mode; a key with no write bit cannot be written
    /// even by root.
    public func isWritable(_ key: SysctlKey) -> Bool {
        var info = stat()
        guard stat(path(of: key).string, &info) == 0 else { return false }
        return info.st_mode & 0o222 != 0
    }

    /// Writes the value unless it is already there (systemd's sysctl does the same):
    /// a no-op write still needs privileges and can reset kernel state.
    public func write(_ key: SysctlKey, value: String) throws(SysctlError) {
        let normalized = SysctlValue.normalize(value)
        if let current = try read(key), current == normalized { return }
        do {
            // The kernel parses whitespace-separated fields; O_TRUNC is ignored by
            // procfs but makes the temp-directory store behave like a file write.
            let fd = try FileDescriptor.open(path(of: key), .writeOnly, options: [.truncate])
            defer { try? fd.close() }
            let written = try fd.writeAll(Array((normalized + "\n").utf8))
            if written == 0 { throw Errno.ioError }
        } catch let errno as Errno {
            throw SysctlError(.write, key: key, value: normalized, errno: errno)
        } catch {
            throw SysctlError(.write, key: key, value: normalized, errno: .ioError)
        }
    }
}
