import Glibc
import SystemPackage

/// Reading files nettune did not write itself (profiles, snapshots, history,
/// /proc and /sys): only regular files, never more than a stated size, so a FIFO
/// or `/dev/zero` given as a profile is refused instead of hanging or filling memory.
public enum TextFile {
    /// Enough for any profile, snapshot or kernel text nettune reads.
    public static let defaultLimit = 1 << 20

    public static func read(_ path: String, limit: Int = defaultLimit, trust: FileTrust? = nil) throws(FileError) -> String {
        try read(FilePath(path), limit: limit, trust: trust)
    }

    public static func read(_ path: FilePath, limit: Int = defaultLimit, trust: FileTrust? = nil) throws(FileError) -> String {
        String(decoding: try readBytes(path, limit: limit, trust: trust), as: UTF8.self)
    }

    /// - Parameter trust: when given, a file it does not trust is refused
    ///   (`.untrusted`), judged on the descriptor that is read, so the file cannot be
    ///   swapped between the check and the read.
    public static func readBytes(_ path: FilePath, limit: Int = defaultLimit, trust: FileTrust? = nil) throws(FileError) -> [UInt8] {
        let (fd, _) = try openRegular(path, trust: trust)
        defer { try? fd.close() }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let n: Int
            do {
                n = try chunk.withUnsafeMutableBytes { try fd.read(into: $0, retryOnInterrupt: true) }
            } catch {
                throw FileError(path: path, reason: .system(operation: "read", errno: Errno.from(error)))
            }
            if n == 0 { break }
            guard bytes.count + n <= limit else { throw FileError(path: path, reason: .tooLarge(limit: limit)) }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return bytes
    }

    /// The last `limit` bytes of a regular file, for a file that only grows at its
    /// end (the history): its newest part is read whatever its size.
    /// - Returns: the bytes, and whether the file held more before them (the
    ///   first line is then likely cut).
    public static func readTail(_ path: FilePath, limit: Int) throws(FileError) -> (bytes: [UInt8], cut: Bool) {
        let (fd, size) = try openRegular(path)
        defer { try? fd.close() }
        let start = max(0, size - Int64(limit))
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        // Bounded even if the file grows while it is read.
        while bytes.count < limit {
            let want = min(chunk.count, limit - bytes.count)
            let n: Int
            do {
                n = try chunk.withUnsafeMutableBytes {
                    try fd.read(fromAbsoluteOffset: start + Int64(bytes.count), into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<want]))
                }
            } catch {
                throw FileError(path: path, reason: .system(operation: "read", errno: Errno.from(error)))
            }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return (bytes, start > 0)
    }

    /// Opens `path` for reading if it is a regular file. O_NONBLOCK: opening a FIFO
    /// must not wait for a writer; regular files ignore it.
    /// - Returns: the descriptor (the caller closes it) and the file's size.
    static func openRegular(_ path: FilePath, trust: FileTrust? = nil) throws(FileError) -> (FileDescriptor, Int64) {
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(path, .readOnly, options: [.nonBlocking, .closeOnExec])
        } catch {
            throw FileError(path: path, reason: .system(operation: "open", errno: Errno.from(error)))
        }
        var info = stat()
        do { try Syscall.call { fstat(fd.rawValue, &info) } } catch {
            try? fd.close()
            throw FileError(path: path, reason: .system(operation: "stat", errno: error))
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            try? fd.close()
            throw FileError(path: path, reason: .notRegular)
        }
        if let problem = trust?.problem(owner: info.st_uid, mode: info.st_mode) {
            try? fd.close()
            throw FileError(path: path, reason: .untrusted(problem))
        }
        return (fd, Int64(info.st_size))
    }

    public static func exists(_ path: String) -> Bool {
        var info = stat()
        return (try? Syscall.call { stat(path, &info) }) != nil
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

/// A file that could not be read or written, and why.
public struct FileError: Error, Equatable, CustomStringConvertible {
    public enum Reason: Equatable, Sendable {
        case system(operation: String, errno: Errno)
        case notRegular
        case tooLarge(limit: Int)
        case emptyPath
        /// Refused by a `FileTrust`.
        case untrusted(FileTrust.Problem)
    }

    public var path: FilePath
    public var reason: Reason

    public init(path: FilePath, reason: Reason) {
        self.path = path
        self.reason = reason
    }

    /// The underlying errno, when the system refused.
    public var errno: Errno? {
        if case .system(_, let errno) = reason { return errno }
        return nil
    }

    public var description: String {
        withoutRemedy + (remedy.map { " (\($0))" } ?? "")
    }

    /// What to do about a refusal the user can change: sudo for a permission, another
    /// place for a read-only file system (sudo cannot help there).
    public var remedy: String? {
        switch errno {
        case .permissionDenied?, .notPermitted?: "run with sudo, or choose another place"
        case .readOnlyFileSystem?: "the file system is read-only: choose another place"
        default: nil
        }
    }

    /// The failure alone, for a caller that gives its own remedy.
    public var withoutRemedy: String {
        switch reason {
        case .system(let operation, let errno): return "\(path): \(operation) failed: \(errno)"
        case .notRegular: return "\(path): not a regular file"
        case .tooLarge(let limit): return "\(path): larger than \(ByteCount(limit)), more than nettune reads from such a file"
        case .emptyPath: return "an empty path was given"
        case .untrusted(let problem): return "\(path): not used: \(problem); \(problem.fix(for: path.string))"
        }
    }
}
