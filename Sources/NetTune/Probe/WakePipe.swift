import Glibc

/// A pipe one thread writes to wake another's poll.
final class WakePipe: Sendable {
    private let ends: (read: Int32, write: Int32)

    init() {
        ends = (try? Syscall.pipe(nonBlocking: true)) ?? (-1, -1)
    }

    deinit {
        Syscall.close(ends.read)
        Syscall.close(ends.write)
    }

    var fd: Int32 { ends.read }

    func signal() {
        var byte: UInt8 = 1
        _ = try? Syscall.call { write(ends.write, &byte, 1) }
    }

    func drain() {
        var bytes = [UInt8](repeating: 0, count: 64)
        while let n = try? Syscall.call({ read(ends.read, &bytes, bytes.count) }), n > 0 {}
    }
}
