/// Reads and writes sysctls. `ProcSysStore` is the real one; tests use it on a
/// temporary directory, or a fake.
public protocol SysctlStore {
    /// The normalised value, or `nil` when the key does not exist here (many
    /// `net.core` keys are absent inside a network namespace).
    func read(_ key: SysctlKey) throws(SysctlError) -> String?
    /// Writes `value` (normalised first).
    func write(_ key: SysctlKey, value: String) throws(SysctlError)
    /// False for keys the kernel shows read-only (many `net.core` keys inside a
    /// non-initial network namespace), so a plan can refuse them before writing.
    func isWritable(_ key: SysctlKey) -> Bool
}

extension SysctlStore {
    /// Reads every key; a key that does not exist maps to `nil`.
    public func readAll(_ keys: [SysctlKey]) throws(SysctlError) -> [SysctlKey: String?] {
        var values: [SysctlKey: String?] = [:]
        for key in keys { values[key] = .some(try read(key)) }
        return values
    }
}
