import ArgumentParser
import Foundation
import NetTune

extension NetTuneCommand {
    struct Serve: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Receive probes: the other end of `nettune probe`.",
            discussion: """
                Accepts one probe at a time (another client meanwhile gets a "busy" reply), \
                opens a fresh data listener for each probe so the receive buffer follows the \
                current net.ipv4.tcp_rmem, discards the payload without writing it anywhere, \
                and answers with its own measurements. It survives bad headers, oversized \
                claims, stalled and vanished clients, and goes on serving. Needs no privileges.
                """
        )

        @Option(name: .long, help: "TCP port of the control connection.")
        var port: UInt16 = 9000

        @Option(name: .long, help: ArgumentHelp("Listen on this local address only (default: all).", valueName: "addr"))
        var bind: String?

        @Flag(name: .long, help: "Exit after one completed probe.")
        var once = false

        @Option(name: .long, help: ArgumentHelp("Refuse probes that declare more than this (default: 64GiB).", valueName: "size"), transform: Parse.positiveSize)
        var maxBytes = SizeArgument(64 << 30)

        @Option(name: .long, help: ArgumentHelp("Drop a client that sends nothing for this long (default: 10s).", valueName: "duration"),
                transform: Parse.positiveDuration)
        var idleTimeout = TimeSpanArgument(.seconds(10))

        @Option(name: .long, help: ArgumentHelp("End a timed probe (probe --time) that runs longer than this (default: 10min).", valueName: "duration"),
                transform: Parse.positiveDuration)
        var maxDuration = TimeSpanArgument(.seconds(600))

        @Option(name: .long, help: ArgumentHelp("Only accept probes presenting this secret, 1–255 bytes (default: $NETTUNE_TOKEN).", valueName: "secret"),
                transform: Parse.token)
        var token: String?

        @Option(name: .long, help: ArgumentHelp("""
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
            let server = try ProbeServer(.init(bind: bind, port: port, maxBytes: UInt64(maxBytes.bytes),
                                               idleTimeout: idleTimeout.duration, maxDuration: maxDuration.duration,
                                               token: secret.map { Array($0.utf8) }, drain: drain, once: once))
            let json = output.json
            StandardError.print("nettune serve: listening on \(server.address) (drain: \(drain.rawValue)\(secret == nil ? "" : ", token required"))")
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
        }
    }
}
