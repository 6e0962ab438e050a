import CNetlink
import Glibc
import SystemPackage

/// A pipe for splice(2), as large as the kernel allows an ordinary user (1 MiB by
/// default, fs.pipe-max-size): fewer trips through it per byte. Closed on deinit.
final class KernelPipe {
    let readEnd: Int32
    let writeEnd: Int32
    /// Bytes it holds, as the kernel reports after resizing.
    let capacity: Int

    init() throws(Errno) {
        let ends = try Syscall.pipe(nonBlocking: false)
        readEnd = ends.read
        writeEnd = ends.write
        let fd = ends.write
        _ = try? Syscall.call { fcntl(fd, Int32(CNL_F_SETPIPE_SZ), 1 << 20) }
        capacity = Int(max((try? Syscall.call { fcntl(fd, Int32(CNL_F_GETPIPE_SZ)) }) ?? 0, 65536))
    }

    deinit {
        Syscall.close(readEnd)
        Syscall.close(writeEnd)
    }

    static let spliceFlags = UInt32(CNL_SPLICE_F_MOVE | CNL_SPLICE_F_MORE)

    /// Moves exactly `count` bytes already in the pipe to `fd`, which never blocks
    /// (/dev/null).
    func drain(_ count: Int, to fd: Int32) throws {
        var left = count
        while left > 0 {
            do {
                left -= try Syscall.call { splice(readEnd, nil, fd, nil, left, Self.spliceFlags) }
            } catch {
                throw SendError(operation: "splice (pipe → /dev/null)", errno: error)
            }
        }
    }
}
