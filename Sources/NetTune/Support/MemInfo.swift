/// Figures from /proc/meminfo (lines like `MemAvailable:   123456 kB`), in bytes.
public enum MemInfo {
    public static func bytes(_ field: String, in meminfo: String?) -> Int? {
        guard let line = meminfo?.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") }) else { return nil }
        let fields = line.split(separator: " ")
        guard fields.count >= 2, let kib = Int(fields[1]), kib >= 0, kib <= Int.max / 1024 else { return nil }
        return kib * 1024
    }

    /// This machine's /proc/meminfo, read bounded; nil when it cannot be read.
    static func current() -> String? { try? TextFile.read("/proc/meminfo", limit: 64 << 10) }
}
