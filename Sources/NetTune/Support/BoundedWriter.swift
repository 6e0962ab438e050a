import Glibc
import Synchronization
import SystemPackage

/// Writes messages to a terminal or a pipe that may stop taking output, without
/// ever waiting on it for long.
///
/// A terminal stopped with Ctrl-S (XOFF), or a pipe whose reader is paused, makes
/// a plain write(2) block until someone resumes it; a signal does not end that
/// wait either, the write just starts again. A `nettune try` whose countdown line
/// blocked there never reverted: neither its timeout nor SIGTERM could reach the
/// revert. So this writes through its own non-blocking open of the same terminal
/// or pipe (a new open file description, so the shell's stays blocking), and when
/// the other end takes nothing for `patience` it drops the rest of the message and
/// carries on. Regular files, sockets and other devices are written as they are.
public final class BoundedWriter: Sendable {
    private let fd: Int32
    private let ownsDescriptor: Bool
    /// The last message found the other end stopped: later ones do not wait
    /// again until something gets through.
    private let stalled = Mutex(false)

    /// - Parameter fd: stays open and blocking; a terminal or pipe is opened again
    ///   through /proc/self/fd.
    public init(writingTo fd: Int32) {
        if let reopened = Self.nonBlockingReopen(of: fd) {
            self.fd = reopened
            ownsDescriptor = true
        } else {
            self.fd = fd
            ownsDescriptor = false
        }
    }

    deinit {
        if ownsDescriptor { Syscall.close(fd) }
    }

    /// Writes all of `text` unless the other end takes nothing for `patience` at a
    /// time (a slow terminal that keeps taking bytes gets all of it).
    /// - Returns: false when some of it was dropped or the descriptor failed.
    @discardableResult
    public func write(_ text: String, patience: Duration) -> Bool {
        stalled.withLock { stalled in
            let (written, timedOut) = Self.write(Array(text.utf8), to: fd, patience: stalled ? .zero : patience)
            if timedOut && patience > .zero { stalled = true }
            if written { stalled = false }
            return written
        }
    }

    /// - Returns: whether every byte went out, and whether a wait ran out of patience.
    private static func write(_ bytes: [UInt8], to fd: Int32, patience: Duration) -> (complete: Bool, timedOut: Bool) {
        var offset = 0
        while offset < bytes.count {
            do {
                offset += try bytes[offset...].withUnsafeBytes { chunk throws(Errno) in
                    try Syscall.call { Glibc.write(fd, chunk.baseAddress, chunk.count) }
                }
            } catch .wouldBlock {
                let ready = (try? Deadline.after(patience).wait(for: Int16(POLLOUT), on: fd)) ?? false
                if !ready { return (false, true) }
            } catch {
                return (false, false)  // EPIPE, EIO (a hung-up terminal): nobody is reading
            }
        }
        return (true, false)
    }

    /// A non-blocking descriptor of its own on the terminal or pipe behind `fd`, or
    /// nil for anything else (or when it cannot be opened, e.g. a socket).
    private static func nonBlockingReopen(of fd: Int32) -> Int32? {
        guard let original = Syscall.fileIdentity(fd), isatty(fd) == 1 || original.isPipe,
            // Opening a pty master's path again would make a new pseudo-terminal.
            !original.isPseudoTerminalMultiplexer
        else { return nil }
        guard let reopened = try? Syscall.call({ open("/proc/self/fd/\(fd)", O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC) })
        else { return nil }
        guard Syscall.fileIdentity(reopened) == original else {
            Syscall.close(reopened)
            return nil
        }
        return reopened
    }
}
