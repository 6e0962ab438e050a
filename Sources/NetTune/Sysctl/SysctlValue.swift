/// Sysctl values as nettune compares and prints them.
public enum SysctlValue {
    /// The kernel prints vector values tab-separated with a trailing newline
    /// (`4096\t16384\t4194304\n`); nettune compares and prints them single-spaced.
    public static func normalize(_ raw: String) -> String {
        raw.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" })
            .joined(separator: " ")
    }

    /// Whitespace-insensitive equality (tuned's `verify` once failed on the tabs).
    public static func same(_ a: String, _ b: String) -> Bool {
        normalize(a) == normalize(b)
    }
}
