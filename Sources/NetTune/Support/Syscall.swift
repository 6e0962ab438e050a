import CNetlink
import Glibc
import SystemPackage

/// The one place raw syscalls are called: -1 becomes a thrown `Errno`, and EINTR is
/// retried here so no caller has to remember (swift-system does the same).
enum Syscall {
    @discardableResult
    static func call<T: FixedWidthInteger & SignedInteger>(_ body: () -> T) throws(Errno) -> T {
        while true {
            let result = body()
            if result >= 0 { return result }
            let error = Errno(rawValue: errno)
            if error == .interrupted { continue }
            throw error
        }
    }
}

extension Syscall {
    /// One call, EINTR included: for blocking calls whose caller must notice a
    /// signal (a bulk transfer checks for Ctrl-C between calls).
    @discardableResult
    static func attempt<T: FixedWidthInteger & SignedInteger>(_ body: () -> T) throws(Errno) -> T {
        let result = body()
        if result >= 0 { return result }
        throw Errno(rawValue: errno)
    }
}

extension Syscall {
    /// close(2) exactly once: on Linux the descriptor is gone even when close
    /// reports EINTR, so retrying could close someone else's.
    static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    /// A pipe whose ends are close-on-exec from the start (pipe2): a program
    /// started at the same moment by another thread never inherits them.
    static func pipe(nonBlocking: Bool) throws(Errno) -> (read: Int32, write: Int32) {
        var ends: [Int32] = [-1, -1]
        try call { CNetlink.pipe2(&ends, O_CLOEXEC | (nonBlocking ? O_NONBLOCK : 0)) }
        return (ends[0], ends[1])
    }

    /// Sets or clears O_NONBLOCK.
    static func setNonBlocking(_ fd: Int32, _ on: Bool) {
        guard let flags = try? call({ fcntl(fd, F_GETFL) }) else { return }
        _ = try? call { fcntl(fd, F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK) }
    }

    /// An integer socket option, or nil when the kernel has none to give.
    static func socketOption(_ fd: Int32, _ level: Int32, _ name: Int32) -> Int32? {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard (try? call({ getsockopt(fd, level, name, &value, &length) })) != nil else { return nil }
        return value
    }

    static func setSocketOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32) throws(Errno) {
        var value = value
        try call { setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size)) }
    }

    /// An option the kernel reads as 64 bits (SO_MAX_PACING_RATE above 4 GB/s).
    static func setSocketOption64(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: UInt64) throws(Errno) {
        var value = value
        try call { setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<UInt64>.size)) }
    }

    /// TCP_CONGESTION by name.
    static func setCongestionControl(_ fd: Int32, _ algorithm: String) throws(Errno) {
        var name = Array(algorithm.utf8CString)
        try call { setsockopt(fd, Int32(IPPROTO_TCP), TCP_CONGESTION, &name, socklen_t(name.count - 1)) }
    }
}

extension Errno {
    /// swift-system's calls throw untyped errors that are always `Errno`; this
    /// recovers it without a force cast.
    static func from(_ error: any Error) -> Errno {
        (error as? Errno) ?? .ioError
    }
}

extension Syscall {
    /// Tells the kernel a file will be read from start to end (larger readahead).
    static func adviseSequential(_ fd: Int32) {
        _ = posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)
    }

    /// How many of the first `size` bytes of the file open as `fd` are in the page
    /// cache (mincore over a read-only mapping, 256 MiB at a time); nil when the
    /// kernel cannot say.
    static func residentBytes(of fd: Int32, size: Int) -> Int? {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        guard page > 0, size >= 0 else { return nil }
        let window = 256 << 20
        var vector = [UInt8](repeating: 0, count: window / page)
        var resident = 0
        var offset = 0
        while offset < size {
            let length = min(window, size - offset)
            let mapping: UnsafeMutableRawPointer? = mmap(nil, length, PROT_READ, MAP_SHARED, fd, off_t(offset))
            guard let mapping, mapping != UnsafeMutableRawPointer(bitPattern: -1) else { return nil }
            defer { munmap(mapping, length) }
            let pages = (length + page - 1) / page
            let status = vector.withUnsafeMutableBufferPointer { mincore(mapping, length, $0.baseAddress) }
            guard status == 0 else { return nil }
            resident += vector[0..<pages].reduce(0) { $0 + Int($1 & 1) } * page
            offset += length
        }
        return min(resident, size)
    }

    /// Bytes an unprivileged writer may still put on the file system holding `path`
    /// (statvfs's f_bavail), or nil when it cannot be asked.
    static func availableBytes(at path: String) -> Int? {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return nil }
        let (bytes, overflow) = Int(clamping: info.f_bavail).multipliedReportingOverflow(by: Int(clamping: info.f_frsize))
        return overflow ? Int.max : bytes
    }

    /// Whether process `pid` exists (one owned by another user counts).
    static func processExists(_ pid: Int32) -> Bool {
        kill(pid, 0) == 0 || errno == EPERM
    }
}

extension Syscall {
    /// This user's home directory in the password database, or nil when it has no
    /// entry (a numeric id from a container or `DynamicUser`).
    static func passwordHomeDirectory() -> String? {
        passwordEntry(of: getuid(), \.pw_dir)
    }

    /// The login name of `uid` in the password database, or nil when it has none.
    static func userName(of uid: UInt32) -> String? {
        passwordEntry(of: uid, \.pw_name)
    }

    /// One text field of `uid`'s password database entry (getpwuid_r).
    private static func passwordEntry(of uid: UInt32, _ field: KeyPath<passwd, UnsafeMutablePointer<CChar>?>) -> String? {
        var entry = passwd()
        var found: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16 << 10)
        // The entry's strings live in the buffer: read them before it goes.
        return buffer.withUnsafeMutableBufferPointer { bytes -> String? in
            guard let start = bytes.baseAddress else { return nil }
            let status = getpwuid_r(uid, &entry, start, bytes.count, &found)
            guard status == 0, found != nil, let text = entry[keyPath: field] else { return nil }
            return String(cString: text)
        }
    }
}

extension Syscall {
    /// geteuid(2): whose files this process may trust (see `FileTrust`).
    static func effectiveUserID() -> UInt32 { geteuid() }

    /// The user id owning the file at `path` (symbolic links followed), or nil.
    static func owner(of path: String) -> UInt32? {
        var info = stat()
        guard (try? call({ stat(path, &info) })) != nil else { return nil }
        return info.st_uid
    }
}

/// What a descriptor refers to, for telling whether two descriptors share a file.
struct FileIdentity: Equatable {
    var device: UInt64
    var inode: UInt64
    var specialDevice: UInt64
    var mode: UInt32

    var isPipe: Bool { (mode & S_IFMT) == S_IFIFO }

    /// /dev/ptmx (character device 5:2): every open of it makes a new pseudo-terminal.
    var isPseudoTerminalMultiplexer: Bool {
        let major = ((specialDevice >> 8) & 0xfff) | ((specialDevice >> 32) & ~0xfff)
        let minor = (specialDevice & 0xff) | ((specialDevice >> 12) & ~0xff)
        return (mode & S_IFMT) == S_IFCHR && major == 5 && minor == 2
    }
}

extension Syscall {
    /// fstat(2) reduced to what identifies the file, or nil.
    static func fileIdentity(_ fd: Int32) -> FileIdentity? {
        var info = stat()
        guard (try? call({ fstat(fd, &info) })) != nil else { return nil }
        return FileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino), specialDevice: UInt64(info.st_rdev), mode: info.st_mode)
    }
}

extension Syscall {
    /// Whether this process is in the foreground of the terminal `fd` (tcgetpgrp):
    /// false in a background job, and when `fd` is no terminal or has hung up.
    static func isForegroundProcessGroup(ofTerminal fd: Int32) -> Bool {
        let foreground = tcgetpgrp(fd)
        return foreground >= 0 && foreground == getpgrp()
    }
}

extension Syscall {
    /// SO_NETNS_COOKIE of this thread's network namespace, asked of a throw-away
    /// socket in it; nil before Linux 5.14.
    static func networkNamespaceCookie() -> UInt64? {
        let soNetnsCookie: Int32 = 71  // <asm-generic/socket.h>; Glibc does not export it
        guard let fd = try? call({ socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }) else { return nil }
        defer { close(fd) }
        var cookie: UInt64 = 0
        var length = socklen_t(MemoryLayout<UInt64>.size)
        guard (try? call({ getsockopt(fd, SOL_SOCKET, soNetnsCookie, &cookie, &length) })) != nil,
            length == socklen_t(MemoryLayout<UInt64>.size)
        else { return nil }
        return cookie
    }
}

extension Syscall {
    /// Whether `fd` is an open descriptor.
    static func isOpen(_ fd: Int32) -> Bool {
        fcntl(fd, F_GETFD) != -1 || errno != EBADF
    }

    /// Whether `fd` is a pipe or socket whose reading end is closed (poll's POLLERR
    /// on a write end).
    static func hasNoReader(_ fd: Int32) -> Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        guard (try? call({ poll(&entry, 1, 0) })) != nil else { return false }
        return entry.revents & Int16(POLLERR) != 0
    }

    /// /dev/null opened as descriptor `fd` (read-only for 0, write-only otherwise).
    static func openNullDevice(as fd: Int32) {
        guard let opened = try? call({ open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) }) else { return }
        if opened != fd {
            _ = dup2(opened, fd)
            close(opened)
        }
    }
}
