import Foundation
import Glibc
import SystemPackage

/// The file a probe sends: the user's own, or a cached file of random bytes (the
/// equivalent of `dd if=/dev/urandom of=dummy.dat bs=1M count=230`), made once and
/// reused so every run sends the same bytes without paying for making them.
public struct PayloadFile: Sendable, Equatable {
    /// Empty for a probe that only receives: it has no file, only a length to ask for.
    public var path: String
    public var size: Int

    /// What a probe that only receives asks the server for: a length. Nothing is
    /// made or read here, so a device that only downloads writes no payload to its
    /// card.
    public static func requested(size: Int) -> PayloadFile { PayloadFile(path: "", size: size) }

    /// Whether there is a file to send (see `requested(size:)`).
    public var isFile: Bool { !path.isEmpty }

    /// The user's file, which must be a regular, readable, non-empty file.
    public static func existing(_ path: String) throws(PayloadError) -> PayloadFile {
        var info = stat()
        do { try Syscall.call { stat(path, &info) } } catch { throw .unusable(path: path, reason: "\(error)") }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw .unusable(path: path, reason: "not a regular file") }
        guard info.st_size > 0 else { throw .unusable(path: path, reason: "the file is empty") }
        guard (try? Syscall.call { access(path, R_OK) }) != nil else { throw .unusable(path: path, reason: "not readable") }
        return PayloadFile(path: path, size: Int(info.st_size))
    }

    /// `<cache>/payload-<bytes>.bin`, created from the kernel's random source if it
    /// does not exist yet. Making it can take a while on a slow card (230 MiB at
    /// 15 MB/s is 15 s), so a signal ends it within a MiB, its temporary removed,
    /// and `made` hears of every MiB written (what it throws ends the making too).
    /// - Throws: `PayloadError`, `Interrupted` on a signal, or what `made` threw.
    public static func cached(
        size: Int, directory: FilePath, interruption: Interruption? = nil, made: ((_ written: Int) throws -> Void)? = nil
    ) throws -> PayloadFile {
        guard size > 0 else { throw PayloadError.unusable(path: directory.string, reason: "the payload size must be positive") }
        let path = cachedPath(size: size, directory: directory)
        if let existing = try? Self.existing(path.string), existing.size == size { return existing }
        removeAbandonedTemporaries(in: directory)
        try checkRoom(for: size, in: directory)
        var madeFailure: (any Error)?
        do {
            let random = try FileDescriptor.open("/dev/urandom", .readOnly, options: [.closeOnExec])
            defer { try? random.close() }
            try AtomicFile.write(to: path, permissions: [.ownerReadWrite, .groupRead, .otherRead]) { fd throws(Errno) in
                var block = [UInt8](repeating: 0, count: 1 << 20)
                var remaining = size
                do {
                    while remaining > 0 {
                        if interruption?.signal != nil { throw Errno.interrupted }
                        let count = min(remaining, block.count)
                        var filled = 0
                        while filled < count {
                            filled += try block[filled..<count].withUnsafeMutableBytes { try random.read(into: $0) }
                        }
                        _ = try block[0..<count].withUnsafeBytes { try fd.writeAll($0) }
                        remaining -= count
                        // On the card every 8 MiB: what `made` hears is written, and
                        // the final fsync (AtomicFile's) has little left — flushing a
                        // whole 256 MiB at once kept a slow card silent for seconds.
                        if (size - remaining) % Self.flushEvery == 0 { try Syscall.call { fdatasync(fd.rawValue) } }
                        do { try made?(size - remaining) } catch {
                            madeFailure = error
                            throw Errno.canceled
                        }
                    }
                } catch {
                    throw Errno.from(error)
                }
            }
        } catch {
            if let signal = interruption?.signal { throw Interrupted(signal: signal) }
            if let madeFailure { throw madeFailure }
            throw PayloadError.cacheFailed(directory: directory.string, reason: "\(error)")
        }
        return PayloadFile(path: path.string, size: size)
    }

    /// Where `cached` keeps random bytes of `size`.
    static func cachedPath(size: Int, directory: FilePath) -> FilePath { directory.appending("payload-\(size).bin") }

    /// What making a payload leaves free on its file system at least: a mistyped
    /// size (`230G` for `230M`) must not fill a device's only card.
    static let spaceKept = 64 << 20

    /// Refuses a payload its file system has no room for, before a byte is
    /// written. The directory may not exist yet: its nearest existing parent is asked.
    static func checkRoom(for size: Int, in directory: FilePath) throws(PayloadError) {
        var place = directory
        while !place.components.isEmpty, (try? Syscall.call { access(place.string, F_OK) }) == nil { place = place.removingLastComponent() }
        guard let available = Syscall.availableBytes(at: place.string), size > available - min(spaceKept, available) else { return }
        throw .cacheFailed(
            directory: directory.string,
            reason:
                "\(ByteCount(size)) of random bytes do not fit: \(ByteCount(available)) free on its file system, and nettune leaves "
                + "\(ByteCount(spaceKept)) of that free; choose a smaller size")
    }

    /// How much of a payload being made may wait unwritten in the page cache.
    static let flushEvery = 8 << 20

    /// Deletes the temporaries of payloads whose maker died before finishing (a
    /// power cut, SIGKILL): each is up to the payload's size, and nothing else would
    /// ever remove them from a small card. A temporary is `.payload-<bytes>.bin.<pid>.<random>.tmp`
    /// (`AtomicFile`); one whose process still lives is being written.
    static func removeAbandonedTemporaries(in directory: FilePath) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.string) else { return }
        for name in names where name.hasPrefix(".payload-") && name.hasSuffix(".tmp") {
            let fields = name.split(separator: ".")
            // "", "payload-N", "bin", pid, random, "tmp" (the empty first field dropped by split).
            guard fields.count == 5, let pid = Int32(fields[2]), pid > 0, !Syscall.processExists(pid) else { continue }
            _ = try? Syscall.call { unlink(directory.appending(name).string) }
        }
    }

    /// `$XDG_CACHE_HOME/nettune`, else `~/.cache/nettune` (`UserDirectories`: never a
    /// shared directory).
    public static func defaultCacheDirectory(environment: [String: String]) throws(UserDirectoryError) -> FilePath {
        try UserDirectories.directory(
            xdgVariable: "XDG_CACHE_HOME", homeFallback: ".cache", purpose: "random payload", option: "--cache-dir",
            environment: environment)
    }
}

public enum PayloadError: Error, Equatable, CustomStringConvertible {
    case unusable(path: String, reason: String)
    case cacheFailed(directory: String, reason: String)

    public var description: String {
        switch self {
        case .unusable(let path, let reason): return "cannot send \(path): \(reason); a payload must be a regular, readable, non-empty file"
        case .cacheFailed(let directory, let reason): return "cannot create the payload file in \(directory): \(reason)"
        }
    }
}
