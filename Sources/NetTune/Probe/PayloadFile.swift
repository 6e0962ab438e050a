import Glibc
import SystemPackage

/// The file a probe sends: the user's own, or a cached file of random bytes (the
/// equivalent of `dd if=/dev/urandom of=dummy.dat bs=1M count=230`), made once and
/// reused so every run sends the same bytes without paying for making them.
public struct PayloadFile: Sendable, Equatable {
    public var path: String
    public var size: Int

    /// The user's file, which must be a regular, readable, non-empty file.
    public static func existing(_ path: String) throws(PayloadError) -> PayloadFile {
        var info = stat()
        guard stat(path, &info) == 0 else { throw .unusable(path: path, reason: "\(Errno(rawValue: errno))") }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw .unusable(path: path, reason: "not a regular file") }
        guard info.st_size > 0 else { throw .unusable(path: path, reason: "the file is empty") }
        guard access(path, R_OK) == 0 else { throw .unusable(path: path, reason: "not readable") }
        return PayloadFile(path: path, size: Int(info.st_size))
    }

    /// `<cache>/payload-<bytes>.bin`, created from the kernel's random source if it
    /// does not exist yet.
    public static func cached(size: Int, directory: String) throws(PayloadError) -> PayloadFile {
        guard size > 0 else { throw .unusable(path: directory, reason: "the payload size must be positive") }
        let path = "\(directory)/payload-\(size).bin"
        if let existing = try? Self.existing(path), existing.size == size { return existing }
        do {
            try makeDirectory(directory)
            let temporary = "\(path).\(getpid()).tmp"
            let random = try FileDescriptor.open("/dev/urandom", .readOnly)
            defer { try? random.close() }
            let fd = try FileDescriptor.open(FilePath(temporary), .writeOnly, options: [.create, .truncate], permissions: [.ownerReadWrite, .groupRead, .otherRead])
            var block = [UInt8](repeating: 0, count: 1 << 20)
            var remaining = size
            do {
                while remaining > 0 {
                    let count = min(remaining, block.count)
                    var filled = 0
                    while filled < count {
                        filled += try block[filled..<count].withUnsafeMutableBytes { try random.read(into: $0) }
                    }
                    _ = try block[0..<count].withUnsafeBytes { try fd.writeAll($0) }
                    remaining -= count
                }
                try fd.close()
            } catch {
                try? fd.close()
                _ = unlink(temporary)
                throw error
            }
            guard rename(temporary, path) == 0 else { throw Errno(rawValue: errno) }
        } catch {
            throw .cacheFailed(directory: directory, reason: "\(error)")
        }
        return PayloadFile(path: path, size: size)
    }

    /// `$XDG_CACHE_HOME/nettune`, else `$HOME/.cache/nettune`, else /tmp/nettune-cache.
    public static func defaultCacheDirectory(environment: [String: String]) -> String {
        if let xdg = environment["XDG_CACHE_HOME"], xdg.hasPrefix("/") { return xdg + "/nettune" }
        if let home = environment["HOME"], home.hasPrefix("/") { return home + "/.cache/nettune" }
        return "/tmp/nettune-cache"
    }

    private static func makeDirectory(_ path: String) throws {
        var current = ""
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o755) != 0 && errno != EEXIST { throw Errno(rawValue: errno) }
        }
    }
}

public enum PayloadError: Error, Equatable, CustomStringConvertible {
    case unusable(path: String, reason: String)
    case cacheFailed(directory: String, reason: String)

    public var description: String {
        switch self {
        case .unusable(let path, let reason): return "cannot send \(path): \(reason); --file takes a regular, readable file"
        case .cacheFailed(let directory, let reason): return "cannot create the payload file in \(directory): \(reason); choose another place with --cache-dir"
        }
    }
}
