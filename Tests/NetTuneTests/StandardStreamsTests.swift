import CNetlink
import Glibc
import Testing

@testable import NetTune

/// How the last check of stdout tells a reader that left (`| head`, no error) from
/// output that did not get through (a full disk, exit 1) when an earlier flush
/// already failed and left only stdio's error flag.
@Suite struct StandardStreamsTests {
    @Test func aPipeWhoseReaderLeftHasNoReader() {
        var ends: [Int32] = [-1, -1]
        #expect(CNetlink.pipe2(&ends, O_CLOEXEC) == 0)
        defer { close(ends[1]) }
        #expect(!Syscall.hasNoReader(ends[1]))
        close(ends[0])
        #expect(Syscall.hasNoReader(ends[1]))
    }

    @Test func aFileAlwaysHasItsReader() throws {
        let dir = try TemporaryDirectory()
        let fd = open(dir.path + "/out", O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        defer { close(fd) }
        #expect(!Syscall.hasNoReader(fd))
    }
}
