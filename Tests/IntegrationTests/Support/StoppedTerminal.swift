import Foundation
import Glibc

/// A pseudo-terminal whose output is stopped, as Ctrl-S (XOFF) stops a terminal:
/// a program writing to it blocks (or, with O_NONBLOCK, is refused) until
/// `resume`. Nothing reads the master end until then.
final class StoppedTerminal {
    private let master: Int32
    private let slave: Int32

    init() throws {
        // posix_openpt, unlockpt and ptsname as the ioctls they are: glibc hides the
        // functions from Swift, and _IOW/_IOR are function-like macros.
        let (unlockRequest, numberRequest): (UInt, UInt) = (0x4004_5431, 0x8004_5430)  // TIOCSPTLCK, TIOCGPTN
        let master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC)
        var unlock: Int32 = 0
        var number: UInt32 = 0
        guard master >= 0, ioctl(master, unlockRequest, &unlock) == 0, ioctl(master, numberRequest, &number) == 0 else {
            if master >= 0 { close(master) }
            throw POSIXError(.ENOTTY)
        }
        let slave = open("/dev/pts/\(number)", O_RDWR | O_NOCTTY | O_CLOEXEC)
        guard slave >= 0, tcflow(slave, TCOOFF) == 0 else {
            if slave >= 0 { close(slave) }
            close(master)
            throw POSIXError(.ENOTTY)
        }
        (self.master, self.slave) = (master, slave)
    }

    deinit {
        close(slave)
        close(master)
    }

    /// The terminal, to hand to a program as its stderr (the program gets a copy).
    var handle: FileHandle { FileHandle(fileDescriptor: slave, closeOnDealloc: false) }

    /// Ctrl-Q: output flows again. Returns what reaches the screen within `seconds`.
    func resume(readingFor seconds: Double = 1) -> String {
        _ = tcflow(slave, TCOON)
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            var ready = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
            guard poll(&ready, 1, 50) == 1 else { continue }
            let n = read(master, &buffer, buffer.count)
            if n <= 0 { break }
            bytes += buffer[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
