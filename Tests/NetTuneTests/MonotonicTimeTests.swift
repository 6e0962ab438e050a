import Testing

@testable import NetTune

/// `MonotonicTime`: the bulk loops' clock reads the moment `ContinuousClock` does,
/// converts both ways without drifting, and saturates rather than traps.
@Suite struct MonotonicTimeTests {
    @Test func itAgreesWithContinuousClock() {
        let before = ContinuousClock.now
        let now = MonotonicTime.now
        let after = ContinuousClock.now
        // Read back on the standard clock, the reading lies between the two around it,
        // give or take the conversion's own readings (10 ms: a test machine may stall
        // a thread that long; a wrong sign or unit is off by far more).
        let back = now.instant
        #expect(back >= before - .milliseconds(10) && back <= after + .milliseconds(10))
    }

    @Test func aFutureAndAPastInstantConvertBothWays() {
        for offset in [Duration.seconds(3), .milliseconds(-250), .zero] {
            let instant = ContinuousClock.now + offset
            let converted = MonotonicTime(instant)
            let error = converted.instant - instant
            #expect(error > .milliseconds(-10) && error < .milliseconds(10), "\(offset): off by \(error)")
        }
    }

    @Test func differencesNeverGoNegative() {
        let early = MonotonicTime(nanoseconds: 1_000)
        let late = MonotonicTime(nanoseconds: 5_000)
        #expect(late.nanoseconds(since: early) == 4_000)
        #expect(early.nanoseconds(since: late) == 0)
        #expect(early < late && !(late < early))
    }

    @Test func durationsSaturate() {
        #expect(MonotonicTime.nanoseconds(in: .milliseconds(50)) == 50_000_000)
        #expect(MonotonicTime.nanoseconds(in: .nanoseconds(7)) == 7)
        #expect(MonotonicTime.nanoseconds(in: .seconds(-1)) == 0)
        #expect(MonotonicTime.nanoseconds(in: .nanoseconds(-1)) == 0)
        #expect(MonotonicTime.nanoseconds(in: .seconds(Int64.max)) == .max)
        #expect(MonotonicTime(nanoseconds: .max - 5).advanced(by: .seconds(1)).nanoseconds == .max)
        // A moment far beyond what the clock can count lands at its end, not in a trap.
        #expect(MonotonicTime(ContinuousClock.now + .seconds(Int64.max / 2)).nanoseconds == .max)
    }
}
