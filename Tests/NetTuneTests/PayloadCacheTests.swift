import Foundation
import Glibc
import SystemPackage
import Testing

@testable import NetTune

/// `PayloadFile.loadIntoPageCache` on a real file: an evicted payload is read back
/// and said to have been cold; a resident one is not read again; a signal ends the
/// reading; a file that went away is a `PayloadError`. And the making of a cached
/// payload: a signal ends it without leaving its temporary, and the temporaries of
/// makers that died are removed.
@Suite struct PayloadCacheTests {
    /// An 8 MiB file written, flushed and dropped from the page cache (where the
    /// file system lets it go: a tmpfs keeps it).
    static func evictedFile(_ directory: TemporaryDirectory) throws -> (PayloadFile, evicted: Bool) {
        let path = directory.path + "/payload.bin"
        try Data(repeating: 0x5A, count: 8 << 20).write(to: URL(fileURLWithPath: path))
        let file = try FileDescriptor.open(FilePath(path), .readOnly)
        defer { try? file.close() }
        _ = fsync(file.rawValue)
        _ = posix_fadvise(file.rawValue, 0, 0, POSIX_FADV_DONTNEED)
        let resident = try #require(Syscall.residentBytes(of: file.rawValue, size: 8 << 20))
        return (try PayloadFile.existing(path), resident < 8 << 20)
    }

    @Test func anEvictedPayloadIsReadBackAndSaidToHaveBeenCold() throws {
        let directory = try TemporaryDirectory()
        let (payload, evicted) = try Self.evictedFile(directory)
        let load = try payload.loadIntoPageCache(interruption: nil)
        #expect(load.bytes == 8 << 20)
        #expect(load.residentAfter == 8 << 20)
        #expect(load.uncachedShare == 0)
        if evicted {
            #expect(try #require(load.residentBefore) < 8 << 20)
            #expect(load.coldShare > 0)
        }
        // Now resident: not read again.
        let again = try payload.loadIntoPageCache(interruption: nil)
        #expect(again.residentBefore == 8 << 20)
        #expect(again.seconds == 0)
        #expect(again.coldShare == 0)
    }

    /// What a server tells its waiting client: before each MiB, from 0 up, with
    /// what was resident before; nothing when nothing is read; what the listener
    /// throws ends the reading.
    @Test func readingIsReportedEveryMiBAndItsListenerCanEndIt() throws {
        let directory = try TemporaryDirectory()
        let (payload, evicted) = try Self.evictedFile(directory)
        var told: [(read: Int, before: Int?)] = []
        let load = try payload.loadIntoPageCache(interruption: nil) { told.append(($0, $1)) }
        if evicted {
            #expect(told.map(\.read) == (0..<8).map { $0 << 20 })
            #expect(told.allSatisfy { $0.before == load.residentBefore })
        }
        told = []
        _ = try payload.loadIntoPageCache(interruption: nil) { told.append(($0, $1)) }
        #expect(told.isEmpty)

        struct Gone: Error {}
        let (again, evictedAgain) = try Self.evictedFile(directory)
        if evictedAgain {
            #expect(throws: Gone.self) { try again.loadIntoPageCache(interruption: nil) { read, _ in if read > 0 { throw Gone() } } }
        }
    }

    /// A server reads in only a payload that takes at most half the available memory.
    @Test func aPayloadTheMemoryCannotHoldIsNotReadIn() {
        let meminfo = "MemTotal:        2048 kB\nMemFree:          100 kB\nMemAvailable:     1000 kB\n"
        #expect(PayloadFile.pageCacheCanHold(512_000, meminfo: meminfo))
        #expect(!PayloadFile.pageCacheCanHold(512_001, meminfo: meminfo))
        for unknown in [nil, "", "MemAvailable: lots kB", "MemAvailable: 99999999999999999999 kB"] {
            #expect(PayloadFile.pageCacheCanHold(Int.max, meminfo: unknown), "\(String(describing: unknown))")
        }
        #expect(MemInfo.bytes("MemTotal", in: meminfo) == 2048 * 1024)
    }

    @Test func aSignalEndsTheReading() throws {
        let directory = try TemporaryDirectory()
        let (payload, evicted) = try Self.evictedFile(directory)
        let interruption = try Interruption.manual()
        interruption.trigger(SIGINT)
        if evicted {
            #expect(throws: Interrupted(signal: SIGINT)) { try payload.loadIntoPageCache(interruption: interruption) }
        } else {
            // Nothing to read: nothing to interrupt.
            #expect(try payload.loadIntoPageCache(interruption: interruption).seconds == 0)
        }
    }

    @Test func aPayloadThatWentAwayIsAPayloadError() throws {
        let payload = PayloadFile(path: "/nonexistent/nettune-payload.bin", size: 1 << 20)
        #expect(throws: PayloadError.self) { try payload.loadIntoPageCache(interruption: nil) }
    }

    /// The shares say nothing they do not know.
    @Test func sharesOfAnUnknownResidencyAreZero() {
        let unknown = PayloadCacheLoad(bytes: 100, residentBefore: nil, residentAfter: nil, seconds: 1)
        #expect(unknown.coldShare == 0 && unknown.uncachedShare == 0)
        let partial = PayloadCacheLoad(bytes: 100, residentBefore: 25, residentAfter: 90, seconds: 1)
        #expect(partial.coldShare == 0.75 && partial.uncachedShare == 0.1)
        let empty = PayloadCacheLoad(bytes: 0, residentBefore: 0, residentAfter: 0, seconds: 0)
        #expect(empty.coldShare == 0 && empty.uncachedShare == 0)
        #expect(Syscall.residentBytes(of: -1, size: 0) == 0)
        #expect(Syscall.residentBytes(of: -1, size: 4096) == nil)
    }

    @Test func aSignalEndsTheMakingOfAPayloadAndLeavesNothing() throws {
        let directory = try TemporaryDirectory()
        let interruption = try Interruption.manual()
        interruption.trigger(SIGINT)
        #expect(throws: Interrupted(signal: SIGINT)) {
            _ = try PayloadFile.cached(size: 8 << 20, directory: FilePath(directory.path), interruption: interruption)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
        // Without a signal it is made, and found the next time.
        let made = try PayloadFile.cached(size: 8 << 20, directory: FilePath(directory.path), interruption: try Interruption.manual())
        #expect(made.size == 8 << 20)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["payload-8388608.bin"])
    }

    /// A mistyped size must not fill the card: a payload its file system has no
    /// room for (less the space kept free) is refused before a byte is written, also
    /// in a directory not made yet.
    @Test func aPayloadWithoutRoomIsRefusedBeforeAByteIsWritten() throws {
        let directory = try TemporaryDirectory()
        let available = try #require(Syscall.availableBytes(at: directory.path))
        for (size, place) in [(available + 1, directory.path), (Int.max, directory.path + "/not/made/yet")] {
            #expect {
                _ = try PayloadFile.cached(size: size, directory: FilePath(place))
            } throws: { error in
                guard case .cacheFailed(_, let reason)? = error as? PayloadError else { return false }
                return reason.contains("do not fit") && reason.contains("free on its file system")
            }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
        // What leaves the space kept free is made.
        #expect(try PayloadFile.cached(size: 1 << 20, directory: FilePath(directory.path)).size == 1 << 20)
    }

    @Test func theTemporaryOfAMakerThatDiedIsRemovedAndALiveOnesKept() throws {
        let directory = try TemporaryDirectory()
        // Above PID_MAX_LIMIT (2^22): no process can have it.
        let dead = ".payload-1048576.bin.4194305.17.tmp"
        let live = ".payload-1048576.bin.\(getpid()).18.tmp"
        let unrelated = ".payload-notes.tmp"
        for name in [dead, live, unrelated] {
            _ = FileManager.default.createFile(atPath: directory.path + "/" + name, contents: Data(count: 16))
        }
        _ = try PayloadFile.cached(size: 1 << 20, directory: FilePath(directory.path))
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: directory.path))
        #expect(left == [live, unrelated, "payload-1048576.bin"])
    }
}
