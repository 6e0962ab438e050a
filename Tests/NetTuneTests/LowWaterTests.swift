import Foundation
import Glibc
import Synchronization
import Testing

@testable import NetTune

/// `LowWater`: the mark a receiver sets so the kernel gathers bytes before waking
/// it stays within a quarter of the receive buffer (so neither the buffer nor the
/// window changes for it), and never holds back a stream's last bytes.
@Suite struct LowWaterTests {
    init() { SignalMask.ignoreBrokenPipe() }

    /// What the receiver and the test's sender thread share.
    final class Shared: Sendable {
        let bytes = Atomic<Int>(0)
        let lastSent = Mutex<ContinuousClock.Instant?>(nil)
    }

    /// A loopback pair whose `near` end has SO_RCVBUF set to `buffer` (the kernel
    /// doubles it), so the mark's bound does not depend on this host's tcp_rmem.
    static func pair(receiveBuffer buffer: Int32) throws -> (near: TCPConnection, far: TCPConnection) {
        let pair = try StreamPumpTests.pairs(1)[0]
        try Syscall.setSocketOption(pair.near.fd, SOL_SOCKET, SO_RCVBUF, buffer)
        return pair
    }

    static func kernelMark(_ connection: TCPConnection) -> Int32? {
        connection.intOption(SOL_SOCKET, SO_RCVLOWAT)
    }

    @Test func theMarkIsAQuarterOfTheBufferAtMostAndLeavesTheBufferAlone() throws {
        let roomy = try Self.pair(receiveBuffer: 1 << 20)
        let before = roomy.near.receiveBufferBytes
        var lowWater = LowWater()
        lowWater.adjust(roomy.near, want: 1 << 20)
        #expect(lowWater.mark == LowWater.target)
        #expect(Self.kernelMark(roomy.near) == Int32(LowWater.target))
        #expect(lowWater.mark <= before / 4)
        #expect(roomy.near.receiveBufferBytes == before)

        // 128 KiB of buffer: a quarter is under the smallest mark worth setting.
        let tight = try Self.pair(receiveBuffer: 64 << 10)
        var tightWater = LowWater()
        for _ in 0..<(2 * LowWater.recheckEvery) { tightWater.adjust(tight.near, want: 1 << 20) }
        #expect(tightWater.mark == 1)
        #expect(Self.kernelMark(tight.near) == 1)
    }

    @Test func fewerBytesExpectedThanTheMarkDropIt() throws {
        let roomy = try Self.pair(receiveBuffer: 1 << 20)
        var lowWater = LowWater()
        lowWater.adjust(roomy.near, want: 1 << 20)
        #expect(lowWater.mark == LowWater.target)
        lowWater.adjust(roomy.near, want: LowWater.target - 1)
        #expect(lowWater.mark == 1)
        #expect(Self.kernelMark(roomy.near) == 1)
    }

    /// The last 100 bytes of an exact stream arrive while its receiver waits, with
    /// no FIN after them: the receiver must return them at once, not when its
    /// wait's slice (250 ms) runs out.
    @Test func anExactStreamsLastBytesAreNotHeldBack() throws {
        let pair = try Self.pair(receiveBuffer: 1 << 20)
        let size = 1 << 20
        let received = Shared()
        let receiver = try ReceivingStream(
            connection: pair.near, drain: .recv, limit: .exactly(UInt64(size + 100)), shutsWhenDone: false, gathers: true,
            wait: TransferWait(deadline: .after(.seconds(30)), stallTimeout: .seconds(5)),
            moved: { received.bytes.add($0, ordering: .relaxed) })
        let far = pair.far
        let sender = Thread {
            try? far.sendAll([UInt8](repeating: 7, count: size), deadline: .after(.seconds(10)))
            // Once the first part is read, the receiver waits in the kernel for the rest.
            while received.bytes.load(ordering: .relaxed) < size { usleep(1000) }
            usleep(20_000)
            received.lastSent.withLock { $0 = .now }
            try? far.sendAll([UInt8](repeating: 8, count: 100), deadline: .after(.seconds(10)))
        }
        sender.start()
        let result = StreamPump.run([receiver])
        let finished = ContinuousClock.now
        try result[0].get()
        #expect(receiver.received == UInt64(size + 100))
        let sent = try #require(received.lastSent.withLock { $0 })
        #expect(finished - sent < .milliseconds(150), "the last bytes waited \(finished - sent)")
        withExtendedLifetime(far) {}
    }

    /// Measured: gathering helps a peer that sends with sendfile or splice and costs
    /// one that copies with read/write 15-20 % of its throughput.
    @Test func onlyAPeerThatSendsFromTheKernelIsGatheredFor() {
        #expect(LowWater.helps(.sendfile))
        #expect(LowWater.helps(.splice))
        #expect(!LowWater.helps(.readwrite))
    }

    /// A receiver that gathers still reads every byte, through every drain.
    @Test func everyDrainReadsEveryByteWhileGathering() throws {
        for drain in DrainMethod.allCases {
            let pair = try Self.pair(receiveBuffer: 1 << 20)
            let size = 8 << 20
            let receiver = try ReceivingStream(
                connection: pair.near, drain: drain, limit: .none, shutsWhenDone: false, gathers: true,
                wait: TransferWait(deadline: .after(.seconds(30)), stallTimeout: .seconds(5)))
            let far = pair.far
            let sender = Thread {
                try? far.sendAll([UInt8](repeating: 1, count: size), deadline: .after(.seconds(10)))
                far.shutdownWrite()
            }
            sender.start()
            try StreamPump.run([receiver])[0].get()
            #expect(receiver.received == UInt64(size), "\(drain)")
            #expect(Self.kernelMark(pair.near) == Int32(LowWater.target), "\(drain)")
        }
    }
}
