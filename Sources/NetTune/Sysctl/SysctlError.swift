import SystemPackage

/// A failed sysctl read or write, with what to do about it.
public struct SysctlError: Error, CustomStringConvertible, Equatable {
    public enum Operation: String, Sendable { case read = "reading", write = "writing" }
    public let operation: Operation
    public let key: SysctlKey
    public let value: String?
    public let errno: Errno

    public init(_ operation: Operation, key: SysctlKey, value: String? = nil, errno: Errno) {
        self.operation = operation
        self.key = key
        self.value = value
        self.errno = errno
    }

    public var description: String {
        let what = operation == .write ? "writing \(key) = \"\(value ?? "")\"" : "reading \(key)"
        switch errno {
        case .permissionDenied, .notPermitted:
            return "\(what) needs root (CAP_NET_ADMIN); run with sudo"
        case .noSuchFileOrDirectory:
            return "\(what) failed: \(key) does not exist on this kernel or in this network namespace"
        case .invalidArgument:
            return "\(what) failed: the kernel refused the value (EINVAL); check its range and format"
        case .readOnlyFileSystem:
            return "\(what) failed: /proc/sys is mounted read-only here (a container?); run on the host or with --privileged"
        default:
            return "\(what) failed: \(errno)"
        }
    }
}
