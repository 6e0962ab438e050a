import Dispatch
import Synchronization

/// The packets in flight one way: first in, first out, each with the instant it
/// is due at the far end. One thread pushes (the reader of one TUN device), one
/// pops (the writer to the other). Bounded in bytes: a full queue drops, as a
/// router's buffer would, and counts it.
final class DelayQueue: Sendable {
    struct Packet: Sendable {
        var bytes: [UInt8]
        var due: ContinuousClock.Instant
    }

    private struct State {
        var packets: [Packet] = []
        var head = 0
        var queuedBytes = 0
        var peakBytes = 0
    }

    let limit: Int
    private let state = Mutex(State())
    /// One signal per queued packet: `pop` waits on it, so an empty queue costs no CPU.
    private let available = DispatchSemaphore(value: 0)

    init(limit: Int) { self.limit = limit }

    /// Queues `packet`; false (and nothing queued) when it would exceed the limit.
    func push(_ packet: Packet) -> Bool {
        let accepted = state.withLock { state -> Bool in
            guard state.queuedBytes + packet.bytes.count <= limit else { return false }
            state.packets.append(packet)
            state.queuedBytes += packet.bytes.count
            state.peakBytes = max(state.peakBytes, state.queuedBytes)
            return true
        }
        if accepted { available.signal() }
        return accepted
    }

    /// The oldest packet, waiting up to `timeout` for one; nil when none came.
    func pop(timeout: Duration) -> Packet? {
        let nanoseconds = Int(clamping: timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000)
        guard available.wait(timeout: .now() + .nanoseconds(nanoseconds)) == .success else { return nil }
        return state.withLock { state -> Packet? in
            guard state.head < state.packets.count else { return nil }
            let packet = state.packets[state.head]
            state.packets[state.head].bytes = []
            state.head += 1
            state.queuedBytes -= packet.bytes.count
            // Compact now and then so the array does not grow for ever.
            if state.head >= 4096 && state.head * 2 >= state.packets.count {
                state.packets.removeFirst(state.head)
                state.head = 0
            }
            return packet
        }
    }

    /// The most bytes ever queued at once.
    var peakBytes: Int { state.withLock { $0.peakBytes } }
}
