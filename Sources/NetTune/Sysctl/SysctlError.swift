import SystemPackage

/// A failed sysctl read or write, with what to do about it.
public struct SysctlError: Error, CustomStringConvertible, Equatable {
    public enum Operation: String, Sendable {
        case read = "reading"
        /// Opening the file for writing: a missing key fails here.
        case open = "opening"
        /// The write itself: the kernel judges the value here.
        case write = "writing"
    }

    /// What nettune found beyond the errno.
    public enum Detail: Equatable, Sendable {
        /// The key's file has no read bit: nobody, root included, can read it.
        case writeOnly
        /// The write succeeded but the kernel holds something else.
        case keptOtherValue(String)
    }

    public let operation: Operation
    public let key: SysctlKey
    public let value: String?
    public let errno: Errno
    public let detail: Detail?

    public init(_ operation: Operation, key: SysctlKey, value: String? = nil, errno: Errno, detail: Detail? = nil) {
        self.operation = operation
        self.key = key
        self.value = value
        self.errno = errno
        self.detail = detail
    }

    public var description: String {
        let what = operation == .read ? "reading \(key)" : "writing \(key) = \"\(value ?? "")\""
        switch detail {
        case .writeOnly:
            return "\(what) failed: \(key) is write-only (nobody can read it), so nettune cannot compare or restore it; leave it out of profiles"
        case .keptOtherValue(let kept):
            return "\(what): the kernel accepted the write but holds '\(kept)'; the value has fields or a form this key does not take"
        case nil:
            break
        }
        switch errno {
        case .permissionDenied, .notPermitted:
            return "\(what) needs root (CAP_NET_ADMIN); run with sudo"
        case .noSuchFileOrDirectory where operation == .write && key == .tcpCongestionControl:
            return
                "\(what) failed: '\(value ?? "")' is not a congestion control this kernel has (see net.ipv4.tcp_available_congestion_control; a module such as tcp_bbr may need loading)"
        case .noSuchFileOrDirectory where operation == .write:
            return "\(what) failed: the kernel refused the value (ENOENT: it names something that does not exist)"
        case .noSuchFileOrDirectory:
            return "\(what) failed: \(key) does not exist on this kernel or in this network namespace"
        case .invalidArgument:
            return "\(what) failed: the kernel refused the value (EINVAL); check its range and format"
        case .readOnlyFileSystem:
            return "\(what) failed: /proc/sys is mounted read-only here (a container?); run on the host or in a privileged container"
        default:
            return "\(what) failed: \(errno)"
        }
    }
}
