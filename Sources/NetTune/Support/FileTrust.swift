import Foundation

/// Who may have written a file whose contents nettune acts on: a profile it applies
/// (as root), a snapshot it restores.
///
/// A file anyone else can change decides what nettune writes into `/proc/sys/net`
/// and which MTU it sets: `sudo nettune apply /tmp/wan.toml` applied whatever another
/// local user had put there, and a profile left writable by others (mode 0666, or a
/// group's write bit) could be changed between `verify` and the next `apply`. As
/// OpenSSH does with its keys and configuration (`StrictModes`), such a file is
/// refused: it must be owned by root, by the user running nettune, by the user who
/// ran `sudo` (`SUDO_UID`), or by whoever owns the nettune binary (who could change
/// nettune itself: a checkout built by its user and run by root with `su`), and no
/// one else may write it (no group or other write bit; a POSIX ACL granting someone
/// write shows as the group write bit).
public struct FileTrust: Equatable, Sendable {
    /// The user ids a trusted file may belong to.
    public var owners: Set<UInt32>

    public init(owners: Set<UInt32>) {
        self.owners = owners
    }

    /// Why a file is refused.
    public enum Problem: Equatable, Sendable {
        /// Owned by someone who is not trusted: that user decides its contents.
        case foreignOwner(uid: UInt32, name: String?)
        /// Writable by its group or by everyone (`mode`: the permission bits).
        case writableByOthers(mode: UInt32)
    }

    /// Root, the effective user, the owner of the running binary, and, when running
    /// as root, the user `sudo` names in `SUDO_UID` (their own profile in their home
    /// directory is theirs to apply).
    public static func forThisProcess() -> FileTrust {
        forProcess(
            effectiveUser: Syscall.effectiveUserID(), environment: ProcessInfo.processInfo.environment,
            binaryOwner: Syscall.owner(of: "/proc/self/exe"))
    }

    static func forProcess(effectiveUser: UInt32, environment: [String: String], binaryOwner: UInt32? = nil) -> FileTrust {
        var owners: Set<UInt32> = [0, effectiveUser]
        if let binaryOwner { owners.insert(binaryOwner) }
        if effectiveUser == 0, let text = environment["SUDO_UID"], let invoker = UInt32(text) { owners.insert(invoker) }
        return FileTrust(owners: owners)
    }

    /// Why a file with this owner and mode is not to be trusted; nil when it is.
    public func problem(owner: UInt32, mode: UInt32) -> Problem? {
        guard owners.contains(owner) else { return .foreignOwner(uid: owner, name: Syscall.userName(of: owner)) }
        let writableByOthers: UInt32 = 0o022
        if mode & writableByOthers != 0 { return .writableByOthers(mode: mode & 0o7777) }
        return nil
    }
}

extension FileTrust.Problem: CustomStringConvertible {
    public var description: String {
        switch self {
        case .foreignOwner(let uid, let name):
            let who = name.map { "\($0) (uid \(uid))" } ?? "uid \(uid)"
            return "it belongs to \(who), not to root or to you, and its owner decides what nettune does with it"
        case .writableByOthers(let mode):
            let octal = String(mode, radix: 8)
            let padded = String(repeating: "0", count: max(0, 4 - octal.count)) + octal
            return "others can write it (mode \(padded)), and any of them decides what nettune does with it"
        }
    }

    /// The command that makes the file trusted, once its contents are checked.
    public func fix(for path: String) -> String {
        switch self {
        case .foreignOwner: "check its contents, then make it yours or root's: sudo chown root: \(path)"
        case .writableByOthers: "check its contents, then: chmod go-w \(path)"
        }
    }
}
