import Glibc
import SystemPackage

/// What reading a payload into the page cache before the runs found and did.
///
/// A probe measures the path, and sends its payload from the page cache. A payload
/// the kernel has evicted since it was last sent (memory pressure, a week of other
/// work, proactive reclaim) would be read from the disk during the first run: on a
/// device with an SD card that run measures the card, and in an A/B comparison the
/// first A run is the slow one, which favours B.
public struct PayloadCacheLoad: Sendable, Equatable {
    public var bytes: Int
    /// Bytes in the page cache before and after; nil where the kernel cannot say.
    public var residentBefore: Int?
    public var residentAfter: Int?
    /// Time spent reading (0 when everything was there).
    public var seconds: Double

    /// The share of the payload the runs will read from the disk: what did not
    /// stay in the page cache (too little memory). 0 when unknown.
    public var uncachedShare: Double {
        guard let residentAfter, bytes > 0 else { return 0 }
        return Double(max(0, bytes - residentAfter)) / Double(bytes)
    }

    /// The share that had to be read from the disk first. 0 when unknown.
    public var coldShare: Double {
        guard let residentBefore, bytes > 0 else { return 0 }
        return Double(max(0, bytes - residentBefore)) / Double(bytes)
    }
}

extension PayloadFile {
    /// Whether reading the payload in can be expected to leave it in the page cache:
    /// it takes at most half of what the kernel says is available (MemAvailable).
    /// A server reads its payload before every transfer that finds it missing; one
    /// the page cache cannot hold would be read in full each time, only to be read
    /// from the disk again during the run. True when the kernel does not say.
    public static func pageCacheCanHold(_ bytes: Int, meminfo: String?) -> Bool {
        guard let available = MemInfo.bytes("MemAvailable", in: meminfo) else { return true }
        return bytes <= available / 2
    }

    /// Reads the payload through once, unless all of it is in the page cache already.
    /// - Parameter reading: told, only when something must be read, before each MiB
    ///   (first with 0): the bytes read so far and what was resident before; what it
    ///   throws ends the reading.
    /// - Throws: `Interrupted` on a signal (checked every MiB), `PayloadError` when the
    ///   file cannot be read, or what `reading` threw.
    public func loadIntoPageCache(
        interruption: Interruption?, reading: ((_ read: Int, _ residentBefore: Int?) throws -> Void)? = nil
    ) throws -> PayloadCacheLoad {
        let file: FileDescriptor
        do {
            file = try FileDescriptor.open(FilePath(path), .readOnly, options: [.closeOnExec])
        } catch {
            throw PayloadError.unusable(path: path, reason: "\(error)")
        }
        defer { try? file.close() }
        let before = Syscall.residentBytes(of: file.rawValue, size: size)
        if before == size { return PayloadCacheLoad(bytes: size, residentBefore: before, residentAfter: before, seconds: 0) }
        let clock = ContinuousClock()
        let start = clock.now
        Syscall.adviseSequential(file.rawValue)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 4096)
        defer { buffer.deallocate() }
        var offset = 0
        while offset < size {
            try interruption?.check()
            try reading?(offset, before)
            let count: Int
            do {
                count = try file.read(fromAbsoluteOffset: Int64(offset), into: buffer)
            } catch {
                throw PayloadError.unusable(path: path, reason: "\(error)")
            }
            // Shorter than it was when the probe began: the runs will say so.
            if count == 0 { break }
            offset += count
        }
        return PayloadCacheLoad(
            bytes: size, residentBefore: before, residentAfter: Syscall.residentBytes(of: file.rawValue, size: size),
            seconds: (clock.now - start).seconds)
    }
}
