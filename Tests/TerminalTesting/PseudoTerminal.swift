import Foundation
import Glibc

/// A pseudo-terminal for a program under test: the test types into it and reads
/// what reaches the screen, as a person at a terminal would, and can stop its
/// output as Ctrl-S (XOFF) does.
public final class PseudoTerminal {
    /// The end a terminal emulator holds: what is typed goes in, the screen comes out.
    public let master: Int32
    /// The terminal a program is given.
    public let slave: Int32
    private var screen: [UInt8] = []

    public init() throws {
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
        guard slave >= 0 else {
            close(master)
            throw POSIXError(.ENOTTY)
        }
        (self.master, self.slave) = (master, slave)
    }

    deinit {
        close(slave)
        close(master)
    }

    /// The terminal, to hand to a program as a standard stream (it gets a copy).
    public var handle: FileHandle { FileHandle(fileDescriptor: slave, closeOnDealloc: false) }

    /// Ctrl-S: a program writing to the terminal now waits (or, non-blocking, is refused).
    public func stopOutput() throws {
        guard tcflow(slave, TCOOFF) == 0 else { throw POSIXError(.ENOTTY) }
    }

    /// Ctrl-Q.
    public func resumeOutput() {
        _ = tcflow(slave, TCOON)
    }

    /// Keys pressed at the terminal.
    public func type(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { write(master, $0.baseAddress, $0.count) }
    }

    /// Everything that has reached the screen, reading for up to `seconds` until
    /// `until` appears in it.
    @discardableResult
    public func read(for seconds: Double, until: String? = nil) -> String {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let until, text.contains(until) { break }
            var ready = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
            guard poll(&ready, 1, 50) == 1 else { continue }
            let n = Glibc.read(master, &buffer, buffer.count)
            if n <= 0 { break }
            screen += buffer[0..<n]
        }
        return text
    }

    public var text: String { String(decoding: screen, as: UTF8.self) }
}
