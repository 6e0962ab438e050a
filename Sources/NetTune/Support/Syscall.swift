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
