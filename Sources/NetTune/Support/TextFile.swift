import SystemPackage

/// Whole small text files (profiles, sysctl.d fragments, snapshots).
public enum TextFile {
    public static func read(_ path: String) throws(Errno) -> String {
        try read(FilePath(path))
    }

    public static func read(_ path: FilePath) throws(Errno) -> String {
        do {
            let fd = try FileDescriptor.open(path, .readOnly)
            defer { try? fd.close() }
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 16384)
            while true {
                let n = try chunk.withUnsafeMutableBytes { try fd.read(into: $0) }
                if n == 0 { break }
                bytes.append(contentsOf: chunk[0..<n])
            }
            return String(decoding: bytes, as: UTF8.self)
        } catch let errno as Errno {
            throw errno
        } catch {
            throw Errno.ioError
        }
    }

    public static func exists(_ path: String) -> Bool {
        (try? FileDescriptor.open(FilePath(path), .readOnly))
            .map { try? $0.close(); return true } ?? false
    }

    /// Names in a directory (not `.`/`..`), sorted; empty when it does not exist.
    public static func list(_ directory: String) -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }
}

#if canImport(Glibc)
import Glibc
#endif
