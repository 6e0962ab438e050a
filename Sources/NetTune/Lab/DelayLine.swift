import Foundation
import Synchronization
import SystemPackage

/// A fixed-delay, optionally lossy link between two network namespaces, for the
/// lab (this kernel has no `netem`). One TUN device in each namespace; for each
/// direction one thread reads packets from one device and queues them with the
/// instant they are due, and another writes them to the other device at that
/// instant. One queue per direction keeps packets in order.
public final class DelayLine: Sendable {
    /// What one direction did.
    public struct Counters: Sendable, Equatable {
        public var forwardedPackets = 0
        public var forwardedBytes = 0
        /// Dropped on purpose (`loss`).
        public var lostPackets = 0
        /// Dropped because the queue was full: the line itself was the bottleneck.
        public var overflowPackets = 0
        /// Writes the receiving kernel refused (a device going down).
        public var writeErrors = 0
        public var peakQueuedBytes = 0
    }

    public let settings: DelayLineSettings
    private let stopping = Atomic<Bool>(false)
    private let failure = Mutex<DelayLineError?>(nil)

    public init(settings: DelayLineSettings) {
        self.settings = settings
    }

    /// Creates both devices, calls `ready` (they exist, and can be configured),
    /// and forwards until `interruption` fires or a lab namespace disappears.
    /// - Returns: the counters of A→B and B→A. The devices are gone when it returns.
    public func run(interruption: Interruption, ready: () throws -> Void) throws -> (aToB: Counters, bToA: Counters) {
        try settings.validate()
        let own = NetworkNamespace.currentInode()
        let pathA = NetworkNamespace.path(named: settings.namespaceA)
        let pathB = NetworkNamespace.path(named: settings.namespaceB)
        for (name, path) in [(settings.namespaceA, pathA), (settings.namespaceB, pathB)] {
            if let inode = NetworkNamespace.inode(of: path), inode == own { throw DelayLineError.ownNamespace(name) }
        }
        let a = try Self.device(settings.deviceA, in: pathA, offloads: settings.offloads)
        defer { a.close() }
        let b = try Self.device(settings.deviceB, in: pathB, offloads: settings.offloads)
        defer { b.close() }
        try ready()

        let aToB = Direction(from: a, to: b, settings: settings, seed: settings.seed)
        let bToA = Direction(from: b, to: a, settings: settings, seed: settings.seed &+ 0x5bd1_e995)
        let threads = DispatchGroup()
        for direction in [aToB, bToA] {
            for role in [Direction.Role.reader, .writer] {
                threads.enter()
                Thread.detachNewThread { [self] in
                    defer { threads.leave() }
                    do {
                        try direction.run(role, until: self.stopping)
                    } catch {
                        self.fail(error)
                    }
                }
            }
        }
        // The main thread watches for the end: a signal, a failed thread, or the
        // lab being deleted under the line (it must never outlive its lab).
        while !stopping.load(ordering: .relaxed) {
            _ = try? Deadline.after(.milliseconds(200), interruption: interruption).sleep()
            if interruption.signal != nil || NetworkNamespace.inode(of: pathA) == nil || NetworkNamespace.inode(of: pathB) == nil {
                stopping.store(true, ordering: .relaxed)
            }
        }
        _ = threads.wait(timeout: .now() + .seconds(2))
        if let error = failure.withLock({ $0 }) { throw error }
        return (aToB.counters(), bToA.counters())
    }

    /// Asks a running line to stop (as a signal would).
    public func stop() { stopping.store(true, ordering: .relaxed) }

    private func fail(_ error: any Error) {
        failure.withLock { $0 = $0 ?? ((error as? DelayLineError) ?? .forwarding(device: "?", errno: Errno.from(error))) }
        stopping.store(true, ordering: .relaxed)
    }

    private static func device(_ name: String, in path: String, offloads: Bool) throws(DelayLineError) -> TunDevice {
        do {
            return try TunDevice.create(name: name, inNamespace: path, offloads: offloads)
        } catch let error as TunError {
            throw .device(error)
        } catch let error as NamespaceError {
            throw .namespace(error)
        } catch {
            throw .forwarding(device: name, errno: Errno.from(error))
        }
    }
}
