import ArgumentParser
import Foundation
import NetTune

extension NetTuneCommand {
    struct Probe: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send a real file to a `nettune serve` peer and measure the transfer.",
            discussion: """
                Times from the first payload byte to the receiver's confirmation of the last, \
                and reports throughput, CPU on both ends (the process's getrusage and the \
                host's /proc/stat) and the sender's TCP_INFO. Never sets SO_SNDBUF/SO_RCVBUF, \
                so tcp_wmem/tcp_rmem autotuning is what gets measured. On a fast link a \
                230 MiB file passes in about 0.1 s: use --time (or a larger --size) for \
                steadier figures.
                """
        )

        @Argument(help: ArgumentHelp("Where `nettune serve` listens.", valueName: "host:port"))
        var peer: Endpoint

        @Option(name: .long, help: ArgumentHelp("Send this file as it is.", valueName: "path"))
        var file: String?

        @Option(name: .long, help: ArgumentHelp("Send a cached file of random bytes of this size.", valueName: "size"))
        var size = SizeArgument(230 << 20)

        @Option(name: .long, help: "How the sender moves the file into the socket.")
        var method: ProbeMethod = .sendfile

        @Option(name: .long, help: ArgumentHelp("Compare several methods, runs interleaved, e.g. sendfile,splice,readwrite.", valueName: "list"))
        var methods: MethodList?

        @Option(name: .long, help: ArgumentHelp("Buffer of the readwrite method.", valueName: "size"))
        var buffer = SizeArgument(128 << 10)

        @Option(name: .long, help: "Measured runs per method.")
        var runs = 3

        @Option(name: .long, help: ArgumentHelp("Bytes of an unmeasured first transfer (0: none).", valueName: "size"))
        var warmup = SizeArgument(32 << 20)

        @Option(name: .long, help: ArgumentHelp("Resend the payload until this much time has passed, each run.", valueName: "duration"))
        var time: TimeSpanArgument?

        @Option(name: .long, help: ArgumentHelp("Sample throughput at this interval.", valueName: "duration"))
        var interval: TimeSpanArgument?

        @Option(name: .long, help: ArgumentHelp("Congestion control for the probe's socket (TCP_CONGESTION), e.g. cubic.", valueName: "algo"))
        var congestion: String?

        @Option(name: .long, help: ArgumentHelp("Secret the server requires (default: $NETTUNE_TOKEN).", valueName: "secret"))
        var token: String?

        @Option(name: .long, help: ArgumentHelp("Where the random payload file is cached (default: $XDG_CACHE_HOME/nettune or ~/.cache/nettune).", valueName: "dir"))
        var cacheDir: String?

        @OptionGroup var output: OutputOptions

        func validate() throws {
            guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
            guard buffer.bytes >= 1 else { throw ValidationError("--buffer must be at least 1 byte") }
            if let interval, interval.duration <= .zero { throw ValidationError("--interval must be positive") }
            if let time, time.duration <= .zero { throw ValidationError("--time must be positive") }
            if file != nil && size.bytes != 230 << 20 { throw ValidationError("give either --file or --size, not both") }
            guard size.bytes > 0 else { throw ValidationError("--size must be positive") }
        }

        func run() throws {
            let environment = ProcessInfo.processInfo.environment
            let payload = try file.map { try PayloadFile.existing($0) }
                ?? PayloadFile.cached(size: size.bytes, directory: cacheDir ?? PayloadFile.defaultCacheDirectory(environment: environment))
            let secret = token ?? environment["NETTUNE_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
            let request = ProbeRequest(endpoint: peer, payload: payload, bufferSize: buffer.bytes, duration: time?.duration,
                                       interval: interval?.duration, congestion: congestion, token: Array((secret ?? "").utf8))
            let runner = ProbeRunner(request: request, methods: methods?.methods ?? [method], runs: runs, warmupBytes: warmup.bytes)
            let showProgress = StandardError.isTerminal
            let report = try runner.run { stage, progress in
                if showProgress { StandardError.write("\r\u{1B}[K" + ProbeTable.progressLine(stage, progress)) }
            }
            if showProgress { StandardError.write("\r\u{1B}[K") }
            if output.json {
                print(try JSONOutput.encode(ProbeJSON(report, multipleMethods: methods != nil)))
            } else {
                print(ProbeTable.render(report), terminator: "")
            }
        }
    }
}
