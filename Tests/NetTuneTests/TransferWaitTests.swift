import Glibc
import Testing

@testable import NetTune

/// `TransferWait`'s rule: a stall is timed from the idle call that last found bytes
/// moved, the deadline ends a transfer that still moves, and a signal ends it at the
/// next call, moved or not.
@Suite struct TransferWaitTests {
    /// Calls `idle()` (about every millisecond) until it throws, for at most 10 s.
    /// - Returns: what it threw; nil if it never did.
    static func idleUntilThrown(_ wait: TransferWait) -> (any Error)? {
        let clock = ContinuousClock()
        let start = clock.now
        while clock.now - start < .seconds(10) {
            do { try wait.idle() } catch { return error }
            usleep(1000)
        }
        return nil
    }

    /// Calls `idle()` (about every millisecond) for `span`, short of the stall.
    static func idle(_ wait: TransferWait, for span: Duration) throws {
        let clock = ContinuousClock()
        let start = clock.now
        while clock.now - start < span {
            try wait.idle()
            usleep(1000)
        }
    }

    @Test func aStallIsTimedFromTheIdleCallThatLastSawBytesMove() throws {
        let wait = TransferWait(deadline: .after(.seconds(30)), stallTimeout: .milliseconds(100))
        // Idle, but short of the stall: then bytes move.
        try Self.idle(wait, for: .milliseconds(60))
        try wait.progressed(10)
        let clock = ContinuousClock()
        // This call sees them: the stall clock starts again here, not at the start.
        let restarted = clock.now
        try wait.idle()
        let error = Self.idleUntilThrown(wait)
        let stalledAfter = clock.now - restarted
        let timeout = try #require(error as? TransferTimeout)
        #expect(timeout.kind == .stalled)
        #expect(timeout.bytes == 10)
        #expect(timeout.limit == .milliseconds(100))
        #expect(stalledAfter >= .milliseconds(100))
        #expect(stalledAfter < .seconds(5))
    }

    @Test func deliveredBytesAlsoRestartTheStallClock() throws {
        let wait = TransferWait(deadline: .after(.seconds(30)), stallTimeout: .milliseconds(100))
        try Self.idle(wait, for: .milliseconds(60))
        let clock = ContinuousClock()
        let restarted = clock.now
        try wait.delivered()
        let error = Self.idleUntilThrown(wait)
        #expect((error as? TransferTimeout)?.kind == .stalled)
        #expect(clock.now - restarted >= .milliseconds(100))
    }

    @Test func thePassedDeadlineEndsATransferThatStillMoves() throws {
        let wait = TransferWait(deadline: .after(.milliseconds(50)), stallTimeout: .seconds(30))
        let clock = ContinuousClock()
        let start = clock.now
        var thrown: (any Error)?
        while clock.now - start < .seconds(10) {
            do {
                try wait.progressed(1)
                try wait.idle()
            } catch {
                thrown = error
                break
            }
            usleep(1000)
        }
        let timeout = try #require(thrown as? TransferTimeout)
        #expect(timeout.kind == .deadline)
        #expect(clock.now - start >= .milliseconds(50))
    }

    @Test func aSignalEndsTheTransferAtTheNextCall() throws {
        let interruption = try Interruption.manual()
        let wait = TransferWait(deadline: Deadline(nil, interruption: interruption), stallTimeout: .seconds(30))
        try wait.progressed(1)
        try wait.idle()
        interruption.trigger(SIGINT)
        #expect(throws: Interrupted(signal: SIGINT)) { try wait.progressed(1) }
        #expect(throws: Interrupted(signal: SIGINT)) { try wait.idle() }
    }
}
