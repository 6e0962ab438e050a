import CNetlink
import Glibc
import SystemPackage

/// The network namespace this process runs in.
public enum NetworkNamespace {
    /// The inode of `/proc/self/ns/net`: equal for two processes exactly when they
    /// share a network namespace (what `ip netns identify` and `lsns` compare).
    public static func currentInode() -> UInt64? {
        inode(of: "/proc/self/ns/net")
    }

    /// The inode of the namespace a file (`/run/netns/NAME`, `/proc/PID/ns/net`) names.
    public static func inode(of path: String) -> UInt64? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return UInt64(info.st_ino)
    }

    /// Where `ip netns add NAME` mounts a named namespace.
    public static func path(named name: String) -> String { "/run/netns/" + name }

    /// Runs `body` with the calling thread inside the namespace at `path`, and
    /// returns to the thread's own namespace afterwards. Sockets and TUN devices
    /// opened in `body` stay in that namespace for their whole life.
    public static func perform<T>(in path: String, _ body: () throws -> T) throws -> T {
        let home = try FileDescriptor.open("/proc/thread-self/ns/net", .readOnly, options: .closeOnExec)
        defer { try? home.close() }
        let target: FileDescriptor
        do {
            target = try FileDescriptor.open(path, .readOnly, options: .closeOnExec)
        } catch {
            throw NamespaceError(path: path, errno: Errno.from(error), step: .open)
        }
        defer { try? target.close() }
        do {
            try Syscall.call { setns(target.rawValue, Int32(CNL_CLONE_NEWNET)) }
        } catch {
            throw NamespaceError(path: path, errno: error, step: .enter)
        }
        defer { _ = try? Syscall.call { setns(home.rawValue, Int32(CNL_CLONE_NEWNET)) } }
        return try body()
    }
}

/// A named network namespace that could not be entered.
public struct NamespaceError: Error, Equatable, CustomStringConvertible {
    public enum Step: Equatable, Sendable { case open, enter }
    public var path: String
    public var errno: Errno
    public var step: Step

    public var description: String {
        switch (step, errno) {
        case (.open, .noSuchFileOrDirectory):
            return "no network namespace at \(path): create it with `ip netns add`, or check the name"
        case (_, .notPermitted), (_, .permissionDenied):
            return "entering the network namespace \(path) needs root (CAP_SYS_ADMIN): run with sudo"
        case (.open, _):
            return "cannot open the network namespace \(path): \(errno)"
        case (.enter, _):
            return "cannot enter the network namespace \(path) (setns): \(errno)"
        }
    }
}
