import Glibc
import SystemPackage

/// The exclusive right to change one network namespace's tuning: `flock` on
/// `<state>/netns-<inode>.lock`, held by every command that writes settings or the
/// snapshot (apply, revert, try, the A/B comparison) for its whole
/// read-plan-write-snapshot sequence. Two nettune processes can therefore never
/// interleave their snapshots and lose an original value.
///
/// The kernel drops a flock when its holder dies, so a killed nettune never leaves
/// the namespace locked. The file itself stays; it holds the holder's pid and
/// command line for the message the next one prints.
///
/// A child forked by the holding process keeps a copy of the descriptor until its
/// exec closes it, so for that moment a lock let go still looks held: a process that
/// starts programs while another thread takes the lock should wait a little, not
/// zero (nettune starts none; its tests do).
public final class NamespaceLock: Sendable {
    public let path: FilePath
    private let fd: FileDescriptor

    private init(path: FilePath, fd: FileDescriptor) {
        self.path = path
        self.fd = fd
    }

    deinit { try? fd.close() }

    /// Who holds a lock, as its holder wrote it.
    public struct Holder: Equatable, Sendable, CustomStringConvertible {
        public var pid: Int32
        public var command: String
        public var description: String { command.isEmpty ? "pid \(pid)" : "pid \(pid): \(command)" }
    }

    /// Takes the lock, waiting up to `wait` (and telling `waiting` once who holds it).
    /// - Parameters:
    ///   - holder: what this process is doing, for the message another one prints.
    ///   - interruption: a signal ends the wait (nothing has been changed yet).
    public static func acquire(
        directory: FilePath, namespace: UInt64, holder: String, wait: Duration,
        interruption: Interruption? = nil,
        waiting: (Holder?) -> Void = { _ in }
    ) throws -> NamespaceLock {
        let path = directory.appending("netns-\(namespace).lock")
        do {
            try AtomicFile.makeDirectories(directory)
        } catch {
            throw StateError(path: path.string, doing: "cannot create the state directory", cause: error)
        }
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(path, .readWrite, options: [.create, .closeOnExec], permissions: [.ownerReadWrite])
        } catch {
            throw StateError(path: path.string, doing: "cannot open the lock file", cause: error)
        }
        let deadline = Deadline.after(wait, interruption: interruption)
        var told = false
        while true {
            if flock(fd.rawValue, LOCK_EX | LOCK_NB) == 0 { break }
            let error = Errno(rawValue: errno)
            guard error == .wouldBlock || error == .interrupted else {
                try? fd.close()
                throw StateError(path: path.string, message: "cannot lock: \(error)")
            }
            let current = readHolder(path)
            if deadline.hasPassed {
                try? fd.close()
                throw NamespaceBusyError(namespace: namespace, holder: current, waited: wait)
            }
            if !told {
                waiting(current)
                told = true
            }
            do {
                try Deadline(min(ContinuousClock.now + .milliseconds(50), deadline.instant ?? .now), interruption: interruption).sleep()
            } catch {
                try? fd.close()
                throw error
            }
        }
        // Ours now: say who we are.
        let record = Array("\(getpid())\n\(holder)\n".utf8)
        _ = ftruncate(fd.rawValue, 0)
        _ = try? fd.writeAll(toAbsoluteOffset: 0, record)
        return NamespaceLock(path: path, fd: fd)
    }

    static func readHolder(_ path: FilePath) -> Holder? {
        guard let text = try? TextFile.read(path, limit: 4096) else { return nil }
        let lines = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
        guard let first = lines.first, let pid = Int32(first) else { return nil }
        let command = lines.count > 1 ? String(lines[1]).trimmingWhitespace() : ""
        return Holder(pid: pid, command: PeerText.sanitized(command, limit: 200))
    }
}

/// Another nettune holds the namespace's lock.
public struct NamespaceBusyError: Error, Equatable, CustomStringConvertible {
    public var namespace: UInt64
    public var holder: NamespaceLock.Holder?
    public var waited: Duration

    public var description: String {
        let who = holder.map { " (\($0))" } ?? ""
        let waitedText = waited > .zero ? "waited \(TimeSpan.format(waited)); " : ""
        return
            "another nettune is changing this network namespace (net:[\(namespace)])\(who); \(waitedText)nothing was changed. Run again when it has finished"
    }
}
