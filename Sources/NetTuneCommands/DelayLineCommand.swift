import ArgumentParser
import Foundation
import NetTune

/// `nettune-delayline`: the lab's long path. A separate executable so the lab can
/// run it in the background beside the namespaces it joins; `lab/nslab up --delay`
/// starts and stops it.
public struct DelayLineCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "nettune-delayline",
        abstract: "Join two network namespaces with a fixed delay and optional loss (a lab's long path).",
        discussion: """
            Creates a TUN device in each of two named namespaces (`ip netns add`) and \
            carries every packet from one to the other after --delay, in order, dropping \
            --loss of them at random (seeded: the same seed drops the same packets). The \
            delay and the loss apply in both directions, so a round trip takes twice \
            --delay. With offloads (the default) the kernel hands over TCP segments of up \
            to 64 KiB with a virtio-net header, so the line moves a few large packets. \
            Configure the devices (addresses, routes, tbf for a rate) after --ready-file \
            appears. Runs until SIGTERM or SIGINT, or until either namespace is deleted; \
            the devices disappear with it. Creates nothing in its own namespace.
            """,
        version: NetTuneVersion.current
    )

    @Option(name: .customLong("netns-a"), help: ArgumentHelp("The first namespace, by name.", valueName: "name"))
    var namespaceA: String

    @Option(name: .customLong("netns-b"), help: ArgumentHelp("The second namespace, by name.", valueName: "name"))
    var namespaceB: String

    @Option(name: .customLong("device-a"), help: ArgumentHelp("The TUN device to create in the first namespace.", valueName: "name"))
    var deviceA: String

    @Option(name: .customLong("device-b"), help: ArgumentHelp("The TUN device to create in the second namespace.", valueName: "name"))
    var deviceB: String

    @Option(
        name: .long, parsing: .unconditional,
        help: ArgumentHelp("One-way delay, 0 to 10s, e.g. 50ms (millisecond resolution).", valueName: "duration"),
        transform: Parse.duration)
    var delay: TimeSpanArgument

    @Option(
        name: .long, parsing: .unconditional,
        help: ArgumentHelp("Percent of packets to drop each way, 0 to 100, e.g. 0.5% (default: 0).", valueName: "percent"),
        transform: Parse.percent)
    var loss: Double = 0

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Seed for the random loss (default: 1).", valueName: "n"))
    var seed: UInt64 = 1

    @Option(
        name: .long, parsing: .unconditional,
        help: ArgumentHelp("Bytes held in flight each way before the line drops, 1MiB to 1GiB (default: 64MiB).", valueName: "size"),
        transform: Parse.size)
    var queue = SizeArgument(DelayLineSettings.defaultQueueLimit)

    @Flag(name: .customLong("no-offloads"), help: "Move MTU-sized packets without virtio-net headers (slower; for comparison).")
    var noOffloads = false

    @Option(name: .long, help: ArgumentHelp("Write this process's PID here once both devices exist.", valueName: "path"))
    var readyFile: String?

    public init() {}

    public func run() throws {
        let settings = DelayLineSettings(
            namespaceA: namespaceA, namespaceB: namespaceB, deviceA: deviceA, deviceB: deviceB,
            delay: delay.duration, loss: loss / 100, seed: seed, queueLimit: queue.bytes,
            offloads: !noOffloads)
        try settings.validate()
        let interruption = try Interruption.install()
        let line = DelayLine(settings: settings)
        let readyPath = try readyFile.map { try AtomicFile.absolute($0) }
        defer { if let readyPath { try? FileManager.default.removeItem(atPath: readyPath.string) } }
        let counters = try line.run(interruption: interruption) {
            if let readyPath { try AtomicFile.write(Array("\(getpid())\n".utf8), to: readyPath) }
        }
        for (name, counter) in [("\(deviceA) -> \(deviceB)", counters.aToB), ("\(deviceB) -> \(deviceA)", counters.bToA)] {
            StandardError.print(
                "nettune-delayline: \(name): \(counter.forwardedPackets) packets (\(ByteCount(counter.forwardedBytes))) "
                    + "forwarded, \(counter.lostPackets) lost on purpose, \(counter.overflowPackets) dropped by a full queue "
                    + "(peak \(ByteCount(counter.peakQueuedBytes))), \(counter.writeErrors) refused")
        }
    }

    /// `main()`, with errors printed as one line.
    public static func runMain() -> Never {
        do {
            var command = try parseAsRoot()
            try command.run()
            exit()
        } catch {
            exit(withError: error)
        }
    }
}

extension Parse {
    /// `0.5%`, `1`, `100%`: a percentage from 0 to 100.
    static func percent(_ text: String) throws -> Double {
        let number = text.hasSuffix("%") ? String(text.dropLast()) : text
        guard let value = Double(number.trimmingCharacters(in: .whitespaces)), value.isFinite, value >= 0, value <= 100 else {
            throw ArgumentProblem("must be a percentage from 0 to 100, e.g. 0.5%")
        }
        return value
    }
}
