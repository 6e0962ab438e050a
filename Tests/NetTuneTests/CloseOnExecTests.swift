import Glibc
import SystemPackage
import Testing

@testable import NetTune

/// Every descriptor nettune opens is close-on-exec from the call that makes it: a
/// program that a process embedding the library starts (or, in these tests, one an
/// integration test starts) must not inherit a pipe or a file it then keeps open.
@Suite struct CloseOnExecTests {
    private func isCloseOnExec(_ fd: Int32) -> Bool {
        let flags = fcntl(fd, F_GETFD)
        return flags >= 0 && flags & FD_CLOEXEC != 0
    }

    @Test func pipesAreCloseOnExec() throws {
        let interruption = try Interruption.manual()
        #expect(isCloseOnExec(interruption.fd))
        #expect(fcntl(interruption.fd, F_GETFL) & O_NONBLOCK != 0)
        let wake = WakePipe()
        #expect(isCloseOnExec(wake.fd))
        let splicePipe = try KernelPipe()
        #expect(isCloseOnExec(splicePipe.readEnd))
        #expect(isCloseOnExec(splicePipe.writeEnd))
        // splice(2) blocks on the pipe: only the interruption's and the wake pipe's
        // ends are non-blocking.
        #expect(fcntl(splicePipe.writeEnd, F_GETFL) & O_NONBLOCK == 0)
    }

    @Test func filesReadAreCloseOnExec() throws {
        let dir = try TemporaryDirectory()
        try dir.write("profile.toml", "name = \"x\"\n")
        let (fd, size) = try TextFile.openRegular(FilePath(dir.path + "/profile.toml"))
        defer { try? fd.close() }
        #expect(size == 11)
        #expect(isCloseOnExec(fd.rawValue))
    }
}
