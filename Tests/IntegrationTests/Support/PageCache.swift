import Foundation
import Glibc
import Testing

/// Files in and out of the page cache, for the tests of payloads read before the runs.
enum PageCache {
    /// Writes `size` zero bytes at `path` and drops them from the page cache where
    /// the file system lets them go (a tmpfs keeps them).
    /// - Returns: whether any of the file left the page cache.
    static func writeEvicted(_ path: String, size: Int) throws -> Bool {
        try Data(count: size).write(to: URL(fileURLWithPath: path))
        let fd = open(path, O_RDONLY)
        try #require(fd >= 0)
        defer { close(fd) }
        _ = fsync(fd)
        _ = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)
        return try residentBytes(path) < size
    }

    /// Bytes of the file at `path` in the page cache (mincore).
    static func residentBytes(_ path: String) throws -> Int {
        let fd = open(path, O_RDONLY)
        try #require(fd >= 0)
        defer { close(fd) }
        var status = stat()
        try #require(fstat(fd, &status) == 0)
        let size = Int(status.st_size)
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let mapping = try #require(mmap(nil, size, PROT_READ, MAP_SHARED, fd, 0))
        try #require(mapping != MAP_FAILED)
        defer { munmap(mapping, size) }
        var vector = [UInt8](repeating: 0, count: (size + page - 1) / page)
        try #require(mincore(mapping, size, &vector) == 0)
        return vector.reduce(0) { $0 + Int($1 & 1) } * page
    }
}
