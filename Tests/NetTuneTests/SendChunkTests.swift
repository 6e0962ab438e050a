import Glibc
import Testing

@testable import NetTune

/// `SendChunk`: a timed stream's calls and unsent bytes follow the rate its peer
/// acknowledges, so its end comes soon after its time on any link, and a fast
/// stream is left as the kernel has it.
@Suite struct SendChunkTests {
    static let start = MonotonicTime.now

    static func at(_ milliseconds: Int) -> MonotonicTime { start.advanced(by: .milliseconds(milliseconds)) }

    @Test func theSizeIsATenthOfASecondOfASlowRate() {
        #expect(SendChunk.size(forRate: 1_250_000) == 125_000)  // 10 Mbit/s
        #expect(SendChunk.size(forRate: 62_500) == SendChunk.smallest)  // 500 kbit/s
        #expect(SendChunk.size(forRate: 0) == SendChunk.smallest)
        #expect(SendChunk.size(forRate: 125_000_000) == SendChunk.largest)  // 1 Gbit/s
        #expect(SendChunk.size(forRate: 12_500_000) == 1_250_000)  // 100 Mbit/s
        // A long path: two round trips.
        #expect(SendChunk.size(forRate: 1_250_000, roundTrip: .milliseconds(200)) == 500_000)
        #expect(SendChunk.size(forRate: 1_250_000, roundTrip: .milliseconds(20)) == 125_000)
        #expect(SendChunk.size(forRate: .infinity) == SendChunk.largest)
        #expect(SendChunk.size(forRate: .nan) == SendChunk.smallest)
    }

    @Test func aSlowStreamIsLimitedOnceItsRateIsMeasured() {
        var chunk = SendChunk()
        #expect(chunk.isDue(Self.at(0)))
        #expect(chunk.update(acked: 1000, now: Self.at(0)) == nil)
        #expect(chunk.size == SendChunk.unmeasured)
        #expect(!chunk.isDue(Self.at(49)))
        #expect(chunk.isDue(Self.at(50)))
        // 62,500 bytes in 50 ms: 10 Mbit/s.
        #expect(chunk.update(acked: 63_500, now: Self.at(50)) == 125_000)
        #expect(chunk.size == 125_000)
        #expect(chunk.unsentLimit == 125_000)
        // The same rate: nothing to set again; a lower one: the limit follows.
        #expect(chunk.update(acked: 126_000, now: Self.at(100)) == nil)
        #expect(chunk.update(acked: 157_250, now: Self.at(150)) == 62_500)
    }

    @Test func aStreamThatTurnsFastHasItsLimitLiftedOnce() {
        var chunk = SendChunk()
        _ = chunk.update(acked: 0, now: Self.at(0))
        #expect(chunk.update(acked: 5_000, now: Self.at(50)) == SendChunk.smallest)
        // 100 MB in 50 ms: far above the largest call.
        #expect(chunk.update(acked: 100_005_000, now: Self.at(100)) == .some(nil))
        #expect(chunk.size == SendChunk.largest)
        #expect(chunk.unsentLimit == nil)
        #expect(chunk.update(acked: 200_005_000, now: Self.at(150)) == nil)
    }

    @Test func aFastStreamIsNeverLimited() {
        var chunk = SendChunk()
        _ = chunk.update(acked: 0, now: Self.at(0))
        #expect(chunk.update(acked: 50_000_000, now: Self.at(50)) == nil)
        #expect(chunk.size == SendChunk.largest)
        // Read again only a second later.
        #expect(!chunk.isDue(Self.at(999)))
        #expect(chunk.isDue(Self.at(1050)))
        // 100 Mbit/s: calls of a tenth of a second, the buffer left alone.
        #expect(chunk.update(acked: 62_500_000, now: Self.at(1050)) == nil)
        #expect(chunk.size == 1_250_000)
        // Slower again: read every 50 ms, and limited.
        #expect(chunk.update(acked: 62_510_000, now: Self.at(2050)) == SendChunk.smallest)
        #expect(chunk.isDue(Self.at(2100)))
    }

    /// A kernel without the counter: the size stays the unmeasured one, no limit.
    @Test func withoutACounterNothingIsLimited() {
        var chunk = SendChunk()
        #expect(chunk.update(acked: nil, now: Self.at(0)) == nil)
        #expect(chunk.update(acked: nil, now: Self.at(100)) == nil)
        #expect(chunk.size == SendChunk.unmeasured)
    }

    /// A counter that went backwards (it cannot, but it is the kernel's) gives no
    /// absurd size: the wrapped difference is far above the largest call.
    @Test func aCounterThatGoesBackwardsDoesNotTrap() {
        var chunk = SendChunk()
        _ = chunk.update(acked: 5000, now: Self.at(0))
        _ = chunk.update(acked: 10, now: Self.at(50))
        #expect(chunk.size == SendChunk.largest)
    }

    /// On a real socket: the limit reaches the kernel.
    @Test func theLimitIsSetOnTheSocket() throws {
        SignalMask.ignoreBrokenPipe()
        let pair = try StreamPumpTests.pairs(1)[0]
        #expect(pair.near.setUnsentLimit(125_000))
        #expect(pair.near.intOption(Int32(IPPROTO_TCP), TCP_NOTSENT_LOWAT) == 125_000)
        // Back to the sysctl's value: the socket's own is 0 again, as on a new socket.
        #expect(pair.near.setUnsentLimit(nil))
        #expect(pair.near.intOption(Int32(IPPROTO_TCP), TCP_NOTSENT_LOWAT) == 0)
        #expect(pair.far.intOption(Int32(IPPROTO_TCP), TCP_NOTSENT_LOWAT) == 0)
    }
}
