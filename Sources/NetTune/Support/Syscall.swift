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

extension Errno {
    /// swift-system's calls throw untyped errors that are always `Errno`; this
    /// recovers it without a force cast.
    static func from(_ error: any Error) -> Errno {
        (error as? Errno) ?? .ioError
    }
}
