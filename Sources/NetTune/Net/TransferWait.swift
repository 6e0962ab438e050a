import Glibc
import SystemPackage

/// The waiting rule of a bulk transfer: give up when nothing moved for
/// `stallTimeout` (a peer that stopped reading or sending), at the run's deadline
/// (a peer that trickles), and at once on a signal.
///
/// The bulk socket stays *blocking*, with SO_SNDTIMEO/SO_RCVTIMEO set to a short
/// slice: the kernel's own wait for buffer space is measurably cheaper than a
/// poll per wake-up on a fast link (about 4 % of throughput and 5 % of sender CPU
/// on this kind of veth), and a call that waited a whole slice, or was cut short
/// by a signal, comes back here to be judged.
final class TransferWait {
    /// How long one blocking call may wait before the rules are checked again; also
    /// the longest a signal delivered to another thread goes unnoticed.
    static let slice: Duration = .milliseconds(250)

    let deadline: Deadline
    let stallTimeout: Duration
    /// When the last look at `bytes` found them moved (or the peer took queued
    /// bytes): progress is timed where a call comes back idle, not after every call,
    /// so a busy transfer reads no clock for it (a stall is seen at most a slice late).
    private(set) var lastProgress: ContinuousClock.Instant
    private(set) var bytes: UInt64 = 0
    private var bytesAtLastLook: UInt64 = 0

    /// The deadline's, held apart: `Deadline` holds a resilient `ContinuousClock.Instant`,
    /// so reaching into it after every call goes through the runtime (`MonotonicTime`).
    private let interruption: Interruption?

    init(deadline: Deadline, stallTimeout: Duration) {
        self.deadline = deadline
        interruption = deadline.interruption
        self.stallTimeout = stallTimeout
        lastProgress = .now
    }

    /// Makes `fd` blocking with the slice as its send and receive timeout.
    func prepare(socket fd: Int32) {
        Syscall.setNonBlocking(fd, false)
        let (seconds, attoseconds) = Self.slice.components
        var value = timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
        for option in [SO_SNDTIMEO, SO_RCVTIMEO] {
            _ = try? Syscall.call { setsockopt(fd, SOL_SOCKET, option, &value, socklen_t(MemoryLayout<timeval>.size)) }
        }
    }

    /// Bytes moved: the stall clock starts again at the next idle call. A signal
    /// that cut the call short is noticed here.
    func progressed(_ count: Int) throws(Interrupted) {
        bytes &+= UInt64(count)
        try interruption?.check()
    }

    /// The peer took bytes the kernel had already queued: no new bytes, but the
    /// transfer is not stalled (a sender that has handed over its last byte waits
    /// while a slow link drains its socket buffer).
    func delivered() throws(Interrupted) {
        lastProgress = .now
        try deadline.checkInterruption()
    }

    /// A call came back having moved nothing: its slice ran out (EAGAIN) or a
    /// signal arrived (EINTR).
    /// - Throws: `Interrupted` on a signal, `TransferTimeout` when the transfer
    ///   stalled or ran out of time; returns when it may go on.
    func idle() throws {
        try deadline.checkInterruption()
        let now = ContinuousClock.now
        if deadline.hasPassed(at: now) { throw TransferTimeout(kind: .deadline, bytes: bytes, limit: nil) }
        if bytes != bytesAtLastLook {
            bytesAtLastLook = bytes
            lastProgress = now
            return
        }
        if now - lastProgress >= stallTimeout {
            throw TransferTimeout(kind: .stalled, bytes: bytes, limit: stallTimeout)
        }
    }

    /// Whether a failed bulk call only waited (and `idle()` must judge), rather than failed.
    static func waited(_ error: Errno) -> Bool { error == .wouldBlock || error == .interrupted }
}

/// A transfer that stopped moving, or ran out of time.
public struct TransferTimeout: Error, Equatable, CustomStringConvertible {
    public enum Kind: Equatable, Sendable {
        /// Nothing moved for the stall timeout.
        case stalled
        /// The whole run's time limit passed.
        case deadline
    }

    public var kind: Kind
    /// Bytes moved before it stopped.
    public var bytes: UInt64
    public var limit: Duration?

    public var description: String {
        switch kind {
        case .stalled:
            return "the peer stopped taking data: nothing moved for \(TimeSpan.format(limit ?? .zero)) after \(ByteCount(Int(clamping: bytes)))"
        case .deadline:
            return "the transfer ran out of time after \(ByteCount(Int(clamping: bytes))): the peer is far slower than the time limit allows"
        }
    }
}
