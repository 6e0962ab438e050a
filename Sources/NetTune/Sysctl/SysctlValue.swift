/// Sysctl values as nettune compares and prints them.
public enum SysctlValue {
    /// The kernel prints vector values tab-separated with a trailing newline
    /// (`4096\t16384\t4194304\n`); nettune compares and prints them single-spaced.
    public static func normalize(_ raw: String) -> String {
        fields(raw).joined(separator: " ")
    }

    static func fields(_ raw: String) -> [Substring] {
        raw.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" })
    }

    /// Whitespace-insensitive equality (tuned's `verify` once failed on the tabs).
    public static func same(_ a: String, _ b: String) -> Bool {
        normalize(a) == normalize(b)
    }

    /// Equal field by field, numbers by value: what the kernel prints back for a
    /// value that it accepted as written (`01` reads back as `1`).
    public static func equivalent(_ a: String, _ b: String) -> Bool {
        let x = fields(a)
        let y = fields(b)
        guard x.count == y.count else { return false }
        return zip(x, y).allSatisfy { p, q in
            if p == q { return true }
            if let m = Int64(p), let n = Int64(q) { return m == n }
            return false
        }
    }
}
