import Synchronization

@testable import NetTune

/// An in-memory sysctl store that can be told to fail.
final class FakeSysctlStore: SysctlStore, @unchecked Sendable {
    var values: [SysctlKey: String]
    var readOnly: Set<SysctlKey> = []
    /// Makes these `write` calls (0-based) fail with EINVAL, to test rollback.
    var failingWriteCalls: Set<Int> = []
    /// Makes the n-th `write` call (0-based) fail.
    var failOnWriteCall: Int? {
        get { failingWriteCalls.min() }
        set { failingWriteCalls = newValue.map { [$0] } ?? [] }
    }
    /// What the "kernel" keeps when a value is written to a key, as a function of
    /// the value (default: the value, normalised).
    var keeps: [SysctlKey: (String) -> String] = [:]
    private(set) var writeCalls = 0
    /// Called before each write, to observe ordering (e.g. snapshot saved first).
    var beforeWrite: ((SysctlKey) -> Void)?

    init(_ values: [SysctlKey: String]) {
        self.values = values
    }

    func read(_ key: SysctlKey) throws(SysctlError) -> String? { values[key] }

    func write(_ key: SysctlKey, value: String) throws(SysctlError) {
        beforeWrite?(key)
        defer { writeCalls += 1 }
        if failingWriteCalls.contains(writeCalls) { throw SysctlError(.write, key: key, value: value, errno: .invalidArgument) }
        guard values[key] != nil else { throw SysctlError(.open, key: key, value: value, errno: .noSuchFileOrDirectory) }
        values[key] = keeps[key].map { $0(value) } ?? SysctlValue.normalize(value)
    }

    func isWritable(_ key: SysctlKey) -> Bool { !readOnly.contains(key) }
}

extension SysctlKey {
    /// Test shorthand; crashes on a bad literal, which is a bug in the test.
    static func k(_ name: String) -> SysctlKey { try! SysctlKey(name) }
}
