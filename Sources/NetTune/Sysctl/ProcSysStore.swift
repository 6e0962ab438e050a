import Glibc
import SystemPackage

/// Sysctls as files under a root directory: `/proc/sys` for real, a temporary
/// directory in tests.
public struct ProcSysStore: SysctlStore, Sendable {
    public let root: FilePath
    /// No sysctl value comes near this (the longest are lists of names).
    static let valueLimit = 64 << 10

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
            return SysctlValue.normalize(try TextFile.read(path(of: key), limit: Self.valueLimit))
        } catch {
            let errno = error.errno ?? .ioError
            if errno == .noSuchFileOrDirectory || errno == .notDirectory { return nil }
            if errno == .permissionDenied && isWriteOnly(key) {
                throw SysctlError(.read, key: key, errno: errno, detail: .writeOnly)
            }
            throw SysctlError(.read, key: key, errno: errno)
        }
    }

    /// procfs shows each sysctl's mode; a key with no write bit cannot be written
    /// even by root.
    public func isWritable(_ key: SysctlKey) -> Bool {
        mode(of: key).map { $0 & 0o222 != 0 } ?? false
    }

    private func isWriteOnly(_ key: SysctlKey) -> Bool {
        mode(of: key).map { $0 & 0o444 == 0 } ?? false
    }

    private func mode(of key: SysctlKey) -> mode_t? {
        var info = stat()
        guard (try? Syscall.call { stat(path(of: key).string, &info) }) != nil else { return nil }
        return info.st_mode
    }

    /// Writes the value unless it is already there (systemd's sysctl does the same):
    /// a no-op write still needs privileges and can reset kernel state.
    public func write(_ key: SysctlKey, value: String) throws(SysctlError) {
        let normalized = SysctlValue.normalize(value)
        if let current = try read(key), current == normalized { return }
        // O_TRUNC is ignored by procfs but makes the temp-directory store behave
        // like a file write.
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(path(of: key), .writeOnly, options: [.truncate, .closeOnExec])
        } catch {
            throw SysctlError(.open, key: key, value: normalized, errno: Errno.from(error))
        }
        defer { try? fd.close() }
        do {
            // The kernel parses whitespace-separated fields in one write.
            let written = try fd.writeAll(Array((normalized + "\n").utf8))
            if written == 0 { throw Errno.ioError }
        } catch {
            throw SysctlError(.write, key: key, value: normalized, errno: (error as? Errno) ?? .ioError)
        }
    }
}
