import SystemPackage

/// One network namespace's life: the boot it is in and the kernel's cookie for it.
///
/// A namespace's inode alone does not tell two lives apart: the first namespace's
/// is the same on every boot, and the kernel reuses the inodes of deleted ones. A
/// snapshot taken in an earlier life describes values that ended with it — a
/// restart or a new namespace starts from the kernel's defaults — so restoring
/// them, or naming its profiles as applied, would be wrong.
public struct NamespaceInstance: Equatable, Sendable {
    /// `/proc/sys/kernel/random/boot_id`: new on every boot.
    public var bootID: String?
    /// SO_NETNS_COOKIE (Linux 5.14): never reused within a boot.
    public var cookie: UInt64?

    public init(bootID: String?, cookie: UInt64?) {
        self.bootID = bootID
        self.cookie = cookie
    }

    /// This process's boot and network namespace; a figure the kernel cannot give is nil.
    public static func current() -> NamespaceInstance {
        let bootID = (try? TextFile.read(FilePath("/proc/sys/kernel/random/boot_id"), limit: 64))?
            .split(separator: "\n").first.map(String.init)
            .flatMap { isBootID($0) ? $0 : nil }
        return NamespaceInstance(bootID: bootID, cookie: Syscall.networkNamespaceCookie())
    }

    /// Which earlier life `recorded` (read from a file) belongs to, or nil when it
    /// may be this one: a figure either side lacks proves nothing.
    public func earlierLife(of recorded: NamespaceInstance) -> EarlierLife? {
        if let then = recorded.bootID, let now = bootID, then != now { return .earlierBoot }
        if let then = recorded.cookie, let now = cookie, then != now { return .earlierNamespace }
        return nil
    }

    /// A boot id as the kernel writes it: a UUID (36 characters of hex and dashes).
    static func isBootID(_ text: String) -> Bool {
        text.utf8.count == 36 && text.utf8.allSatisfy { $0 == UInt8(ascii: "-") || ($0 < 128 && Character(Unicode.Scalar($0)).isHexDigit) }
    }
}

/// How a snapshot's namespace differs from the present one.
public enum EarlierLife: Equatable, Sendable {
    /// Taken before this machine last started.
    case earlierBoot
    /// Taken in an earlier namespace that had the same inode.
    case earlierNamespace

    /// Why the snapshot's values are gone, for messages.
    public var explanation: String {
        switch self {
        case .earlierBoot: "was taken before this machine last started, and the restart reset the values it recorded"
        case .earlierNamespace:
            "was taken in an earlier network namespace that had this one's inode (the kernel reuses them), and the values it recorded went with that namespace"
        }
    }
}
