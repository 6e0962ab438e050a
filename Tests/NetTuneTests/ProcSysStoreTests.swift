import SystemPackage
import Testing

@testable import NetTune

@Suite struct ProcSysStoreTests {
    @Test func readsAndNormalisesUnderItsRoot() throws {
        let root = try TemporaryDirectory()
        try root.write("net/ipv4/tcp_wmem", "4096\t16384\t4194304\n")
        let store = ProcSysStore(root: FilePath(root.path))
        #expect(try store.read(.tcpWmem) == "4096 16384 4194304")
    }

    @Test func missingKeyReadsAsNil() throws {
        let root = try TemporaryDirectory()
        let store = ProcSysStore(root: FilePath(root.path))
        #expect(try store.read(.tcpMem) == nil)
    }

    @Test func writesTheNormalisedValue() throws {
        let root = try TemporaryDirectory()
        try root.write("net/ipv4/tcp_rmem", "4096\t131072\t6291456\n")
        let store = ProcSysStore(root: FilePath(root.path))
        try store.write(.tcpRmem, value: "4096\t87380   16777216")
        #expect(try root.read("net/ipv4/tcp_rmem") == "4096 87380 16777216\n")
        #expect(try store.read(.tcpRmem) == "4096 87380 16777216")
    }

    @Test func skipsAWriteWhoseValueIsAlreadyThere() throws {
        let root = try TemporaryDirectory()
        // The kernel's own formatting stays untouched when nothing changes.
        try root.write("net/ipv4/tcp_rmem", "4096\t131072\t6291456\n")
        let store = ProcSysStore(root: FilePath(root.path))
        try store.write(.tcpRmem, value: "4096 131072 6291456")
        #expect(try root.read("net/ipv4/tcp_rmem") == "4096\t131072\t6291456\n")
    }

    @Test func writingAMissingKeySaysItDoesNotExist() throws {
        let root = try TemporaryDirectory()
        let store = ProcSysStore(root: FilePath(root.path))
        let error = #expect(throws: SysctlError.self) { try store.write(.tcpMem, value: "1 2 3") }
        #expect(error?.errno == .noSuchFileOrDirectory)
        #expect(error?.description.contains("net.ipv4.tcp_mem does not exist") == true)
    }

    @Test func keysCannotEscapeTheRoot() throws {
        let root = try TemporaryDirectory()
        let store = ProcSysStore(root: FilePath(root.path))
        let key = try SysctlKey("net.ipv4.conf.eth0/100.mtu")
        #expect(store.path(of: key) == FilePath(root.path + "/net/ipv4/conf/eth0.100/mtu"))
    }

    @Test func permissionErrorsTellTheUserToUseSudo() throws {
        let error = SysctlError(.write, key: .tcpRmem, value: "4096 87380 6291456", errno: .permissionDenied)
        #expect(error.description == "writing net.ipv4.tcp_rmem = \"4096 87380 6291456\" needs root (CAP_NET_ADMIN); run with sudo")
    }

    @Test func readAllMapsMissingKeysToNil() throws {
        let root = try TemporaryDirectory()
        try root.write("net/ipv4/tcp_wmem", "4096 16384 4194304\n")
        let values = try ProcSysStore(root: FilePath(root.path)).readAll([.tcpWmem, .tcpMem])
        #expect(values[.tcpWmem] == .some("4096 16384 4194304"))
        #expect(values[.tcpMem] == .some(nil))
    }
}
