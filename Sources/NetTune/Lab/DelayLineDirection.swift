import CNetlink
import Foundation
import Glibc
import Synchronization
import SystemPackage

extension DelayLine {
    /// One way through the line: a reader thread and a writer thread sharing a queue.
    final class Direction: Sendable {
        enum Role { case reader, writer }

        let source: TunDevice
        let target: TunDevice
        let delay: Duration
        let queue: DelayQueue
        private let loss: Mutex<LossModel>
        private let forwardedPackets = Atomic<Int>(0)
        private let forwardedBytes = Atomic<Int>(0)
        private let lostPackets = Atomic<Int>(0)
        private let overflowPackets = Atomic<Int>(0)
        private let writeErrors = Atomic<Int>(0)

        /// How long a thread may block before it looks at the stop flag.
        static let checkInterval: Duration = .milliseconds(100)

        init(from source: TunDevice, to target: TunDevice, settings: DelayLineSettings, seed: UInt64) {
            self.source = source
            self.target = target
            delay = settings.delay
            queue = DelayQueue(limit: settings.queueLimit)
            loss = Mutex(LossModel(probability: settings.loss, seed: seed))
        }

        func run(_ role: Role, until stopping: borrowing Atomic<Bool>) throws {
            switch role {
            case .reader: try read(until: stopping)
            case .writer: try write(until: stopping)
            }
        }

        func counters() -> Counters {
            Counters(
                forwardedPackets: forwardedPackets.load(ordering: .relaxed),
                forwardedBytes: forwardedBytes.load(ordering: .relaxed),
                lostPackets: lostPackets.load(ordering: .relaxed),
                overflowPackets: overflowPackets.load(ordering: .relaxed),
                writeErrors: writeErrors.load(ordering: .relaxed),
                peakQueuedBytes: queue.peakBytes)
        }

        /// Takes every packet the kernel routes to `source`, stamps it with its due
        /// instant and queues it (or drops it, by the loss model or a full queue).
        private func read(until stopping: borrowing Atomic<Bool>) throws {
            let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: TunDevice.maxPacket, alignment: 16)
            defer { scratch.deallocate() }
            let wait = Deadline(nil)
            while !stopping.load(ordering: .relaxed) {
                guard try wait.capped(after: Self.checkInterval).wait(for: Int16(POLLIN), on: source.fd) else { continue }
                // Everything waiting, then back to poll.
                while let count = try readPacket(into: scratch) {
                    if loss.withLock({ $0.drops() }) {
                        lostPackets.add(1, ordering: .relaxed)
                        continue
                    }
                    let packet = DelayQueue.Packet(bytes: [UInt8](scratch[..<count]), due: .now + delay)
                    if !queue.push(packet) { overflowPackets.add(1, ordering: .relaxed) }
                }
            }
        }

        private func readPacket(into scratch: UnsafeMutableRawBufferPointer) throws -> Int? {
            do {
                return try source.read(into: scratch)
            } catch {
                throw DelayLineError.forwarding(device: source.name, errno: error)
            }
        }

        /// A sleep ends this much after it was due (wake-up latency, measured here);
        /// the writer sleeps this much less and yields the rest, so each packet
        /// leaves within a few microseconds of its due instant.
        static let wakeMargin: Duration = .microseconds(80)

        /// Hands each queued packet to `target` when it is due.
        private func write(until stopping: borrowing Atomic<Bool>) throws {
            _ = try? Syscall.call { cnl_set_timer_slack(1) }
            while !stopping.load(ordering: .relaxed) {
                guard let packet = queue.pop(timeout: Self.checkInterval) else { continue }
                // Sleep to the due instant in short steps, so a stop is seen promptly.
                while !stopping.load(ordering: .relaxed) {
                    let left = packet.due - .now
                    if left <= .zero { break }
                    if left <= Self.wakeMargin {
                        sched_yield()
                    } else {
                        Thread.sleep(forTimeInterval: min(left - Self.wakeMargin, Self.checkInterval).seconds)
                    }
                }
                do {
                    try target.write(packet.bytes)
                    forwardedPackets.add(1, ordering: .relaxed)
                    forwardedBytes.add(packet.bytes.count, ordering: .relaxed)
                } catch .badFileDescriptor {
                    throw DelayLineError.forwarding(device: target.name, errno: .badFileDescriptor)
                } catch {
                    // The receiving side refused this packet (device down, a
                    // malformed header): a real link would lose it too.
                    writeErrors.add(1, ordering: .relaxed)
                }
            }
        }
    }
}
