import CNetlink
import Foundation
import Glibc
import Synchronization
import TerminalTesting
import Testing

@testable import NetTune

/// A terminal stopped with Ctrl-S, or a pipe nobody reads, costs a message at most
/// its patience: `nettune try`'s countdown blocked on one and never reverted.
@Suite struct BoundedWriterTests {
    /// What has arrived at `fd` within `seconds`.
    private func received(on fd: Int32, within seconds: Double = 2) -> String {
        var bytes: [UInt8] = []
        let deadline = Date().addingTimeInterval(seconds)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            var ready = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&ready, 1, 100) == 1 else {
                if !bytes.isEmpty { break }
                continue
            }
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            bytes += buffer[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private func seconds(_ body: () -> Bool) -> (Bool, Double) {
        let start = Date()
        let result = body()
        return (result, Date().timeIntervalSince(start))
    }

    @Test func aStoppedTerminalCostsAMessageItsPatienceAndTheNextOnesNothing() throws {
        let terminal = try PseudoTerminal()
        try terminal.stopOutput()  // as Ctrl-S does
        let writer = BoundedWriter(writingTo: terminal.slave)

        let (first, firstTook) = seconds { writer.write("applied\n", patience: .milliseconds(300)) }
        #expect(!first)
        #expect(firstTook >= 0.29 && firstTook < 2, "\(firstTook) s")
        let (second, secondTook) = seconds { writer.write("reverting in 3 s\n", patience: .milliseconds(300)) }
        #expect(!second)
        #expect(secondTook < 0.2, "a terminal already found stopped is not waited for again: \(secondTook) s")
        // The shell's own descriptor is left blocking.
        #expect(fcntl(terminal.slave, F_GETFL) & O_NONBLOCK == 0)

        terminal.resumeOutput()  // Ctrl-Q
        #expect(writer.write("reverted\n", patience: .seconds(1)))
        #expect(terminal.read(for: 2, until: "reverted").contains("reverted"))
    }

    @Test func aPipeNobodyReadsIsGivenUpOnAndUsedAgainOnceDrained() throws {
        var ends: [Int32] = [-1, -1]
        #expect(CNetlink.pipe2(&ends, O_CLOEXEC) == 0)
        defer {
            close(ends[0])
            close(ends[1])
        }
        let writer = BoundedWriter(writingTo: ends[1])
        // Fill the pipe through a non-blocking descriptor of the test's own.
        let filler = open("/proc/self/fd/\(ends[1])", O_WRONLY | O_NONBLOCK)
        defer { close(filler) }
        let block = [UInt8](repeating: 0x2E, count: 4096)
        while write(filler, block, block.count) > 0 {}

        let (written, took) = seconds { writer.write("status\n", patience: .milliseconds(200)) }
        #expect(!written)
        #expect(took < 2, "\(took) s")

        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        _ = fcntl(ends[0], F_SETFL, O_NONBLOCK)
        while read(ends[0], &buffer, buffer.count) > 0 {}
        #expect(writer.write("after\n", patience: .seconds(1)))
        #expect(received(on: ends[0]) == "after\n")
    }

    /// Patience is for a stop, not for slowness: a reader that keeps taking bytes,
    /// however slowly, gets every one.
    @Test func aSlowReaderGetsEveryByte() throws {
        var ends: [Int32] = [-1, -1]
        #expect(CNetlink.pipe2(&ends, O_CLOEXEC) == 0)
        let (readEnd, writeEnd) = (ends[0], ends[1])
        let total = ByteCount()
        let done = DispatchSemaphore(value: 0)
        Thread {
            var buffer = [UInt8](repeating: 0, count: 16 << 10)
            while true {
                let n = read(readEnd, &buffer, buffer.count)
                if n <= 0 { break }
                total.add(n)
                Thread.sleep(forTimeInterval: 0.05)
            }
            close(readEnd)
            done.signal()
        }.start()
        let text = String(repeating: "0123456789abcdef", count: 16 << 10)  // 256 KiB: four pipefuls
        do {
            // The writer holds a descriptor of its own on the pipe: gone with it.
            let writer = BoundedWriter(writingTo: writeEnd)
            // The reader takes 0.8 s in all, pausing 50 ms at a time.
            #expect(writer.write(text, patience: .milliseconds(250)))
        }
        close(writeEnd)
        #expect(done.wait(timeout: .now() + 10) == .success)
        #expect(total.value == text.utf8.count)
    }

    private final class ByteCount: Sendable {
        private let count = Mutex(0)
        func add(_ n: Int) { count.withLock { $0 += n } }
        var value: Int { count.withLock { $0 } }
    }

    @Test func aRegularFileIsWrittenAsItIs() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/log"
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        defer { close(fd) }
        let writer = BoundedWriter(writingTo: fd)
        #expect(writer.write("one\n", patience: .zero))
        #expect(writer.write("two\n", patience: .zero))
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "one\ntwo\n")
    }

    /// Opening /proc/self/fd/N of a pty master opens /dev/ptmx: a new terminal,
    /// which nobody reads. The master is written as it is.
    @Test func aPseudoTerminalMasterIsNotOpenedAgain() throws {
        let terminal = try PseudoTerminal()
        let writer = BoundedWriter(writingTo: terminal.master)
        #expect(writer.write("to the slave\n", patience: .seconds(1)))
        #expect(received(on: terminal.slave).contains("to the slave"))
    }
}
