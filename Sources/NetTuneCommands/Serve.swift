import ArgumentParser
import Foundation
import NetTune

extension NetTuneCommand {
    struct Serve: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Receive probes: the other end of `nettune probe`.",
            discussion: """
                Every connection of a probe comes to the one port. Measures one probe at a \
                time and queues up to --queue more in order (a client beyond that is told \
                "busy"). Before each probe it opens a fresh listener on the same port, so the \
                receive buffer follows the current net.ipv4.tcp_rmem. It discards what it \
                receives, sends its --file (or random bytes) to clients that receive, and \
                answers with its own measurements. It survives bad headers, oversized claims, \
                stalled and vanished clients, and goes on serving. SIGTERM, SIGINT, SIGQUIT \
                or SIGHUP stop it within a few seconds: a probe under way is cut off, every \
                client still connected is told the server stopped, and each gets its log \
                line; the exit status is then 0. Needs no privileges.
                """
        )

        @Option(
            name: .long, parsing: .unconditional,
            help: ArgumentHelp(
                "The TCP port every connection of a probe comes to; 0 takes a free one, printed at start (default: 9000).", valueName: "port"),
            transform: Parse.port)
        var port: UInt16 = 9000

        @Option(name: .long, help: ArgumentHelp("Listen on this local address only (default: all).", valueName: "addr"))
        var bind: String?

        @Flag(name: .long, help: "Exit after one completed probe.")
        var once = false

        @Option(
            name: .long, parsing: .unconditional,
            help: ArgumentHelp("Clients that may wait while a probe runs; 0 refuses them as busy (default: 8).", valueName: "n"),
            transform: Parse.count(0...1000))
        var queue = 8

        @Option(
            name: .long, parsing: .unconditional,
            help: ArgumentHelp("Streams a probe may open in each direction, 1 to 128 (default: 128).", valueName: "n"),
            transform: Parse.count(1...ProbeWire.maxStreams))
        var maxStreams = ProbeWire.maxStreams

        @Option(
            name: .long,
            help: ArgumentHelp("Send this file to clients that receive (default: random bytes made once in --cache-dir).", valueName: "path"),
            completion: .file())
        var file: String?

        @Option(
            name: .long, parsing: .unconditional,
            help: ArgumentHelp("Size of the random payload sent to receiving clients (default: 256MiB).", valueName: "size"),
            transform: Parse.positiveSize)
        var payloadSize = SizeArgument(256 << 20)

        @Option(
            name: .long,
            help: ArgumentHelp("Where the random payload is cached (default: $XDG_CACHE_HOME/nettune or ~/.cache/nettune).", valueName: "dir"))
        var cacheDir: String?

        @Option(
            name: .long, parsing: .unconditional,
            help: ArgumentHelp("Refuse probes that declare more than this (default: 64GiB).", valueName: "size"),
            transform: Parse.positiveSize)
        var maxBytes = SizeArgument(64 << 30)

        @Option(
            name: .long, parsing: .unconditional,
            help: ArgumentHelp("Drop a client that sends nothing for this long (default: 10s).", valueName: "duration"),
            transform: Parse.positiveDuration)
        var idleTimeout = TimeSpanArgument(.seconds(10))

        @Option(
            name: .long, parsing: .unconditional,
            help: ArgumentHelp("End a timed probe (probe --time) that runs longer than this (default: 10min).", valueName: "duration"),
            transform: Parse.positiveDuration)
        var maxDuration = TimeSpanArgument(.seconds(600))

        @Option(
            name: .long,
            help: ArgumentHelp("Only accept probes presenting this secret, 1 to 255 bytes (default: $NETTUNE_TOKEN).", valueName: "secret"),
            transform: Parse.token)
        var token: String?

        @Option(
            name: .long,
            help: ArgumentHelp(
                """
                How to discard received bytes: trunc (recv with MSG_TRUNC, no copy; the default, \
                measured cheapest here), splice (to /dev/null through a pipe), recv (copy into a buffer).
                """, valueName: "method"))
        var drain: DrainMethod = .default

        @OptionGroup var output: OutputOptions

        func run() throws {
            var secret = token
            if secret == nil, let fromEnvironment = ProcessInfo.processInfo.environment["NETTUNE_TOKEN"], !fromEnvironment.isEmpty {
                secret = try Parse.token(fromEnvironment)
            }
            let environment = ProcessInfo.processInfo.environment
            let payload: ServerPayload
            if let file {
                payload = .file(try PayloadFile.existing(file))
            } else {
                payload = try .checkedCache(
                    directory: try cacheDir.map { try AtomicFile.absolute($0) } ?? PayloadFile.defaultCacheDirectory(environment: environment),
                    size: payloadSize.bytes)
            }
            let machine = LocalMachine.system(snapshots: nil)
            let interruption = try Interruption.install()
            let server = try ProbeServer(
                .init(
                    bind: bind, port: port, maxBytes: UInt64(maxBytes.bytes),
                    idleTimeout: idleTimeout.duration, maxDuration: maxDuration.duration,
                    token: secret.map { Array($0.utf8) }, drain: drain, once: once, queueLimit: queue,
                    maxStreams: maxStreams, payload: payload,
                    tuning: { machine.tuningState(localAddress: $0) }),
                stoppedBy: interruption)
            let json = output.json
            StandardError.print(
                "nettune serve: listening on \(server.address) (drain: \(drain.rawValue), queue \(queue)\(secret == nil ? "" : ", token required"))")
            try server.run { event in
                if json {
                    // Written straight to the descriptor: a JSON-lines reader sees each
                    // probe as it ends, not when a buffer fills.
                    if let line = try? JSONOutput.encodeLine(ServeEventJSON(event)) {
                        FileHandle.standardOutput.write(Data((line + "\n").utf8))
                    }
                } else {
                    StandardError.print(ServeLog.line(event))
                }
            }
            if let signal = server.haltedBy {
                StandardError.print("nettune serve: stopped (\(Interrupted(signal: signal).signalName))")
            }
        }
    }
}
