import ArgumentParser
import Foundation
import NetTune

/// What to send and how: shared by `probe` and `apply --probe`.
struct ProbeOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Send this file as it is.", valueName: "path"))
    var file: String?

    @Option(name: .long, help: ArgumentHelp("Send a cached file of random bytes of this size.", valueName: "size"))
    var size = SizeArgument(230 << 20)

    @Option(name: .long, help: "How the sender moves the file into the socket.")
    var method: ProbeMethod = .sendfile

    @Option(name: .long, help: ArgumentHelp("Buffer of the readwrite method.", valueName: "size"))
    var buffer = SizeArgument(128 << 10)

    @Option(name: .long, help: ArgumentHelp("Bytes of an unmeasured first transfer (0: none).", valueName: "size"))
    var warmup = SizeArgument(32 << 20)

    @Option(name: .long, help: ArgumentHelp("Resend the payload until this much time has passed, each run.", valueName: "duration"))
    var time: TimeSpanArgument?

    @Option(name: .long, help: ArgumentHelp("Congestion control for the probe's socket (TCP_CONGESTION), e.g. cubic.", valueName: "algo"))
    var congestion: String?

    @Option(name: .long, help: ArgumentHelp("Secret the server requires (default: $NETTUNE_TOKEN).", valueName: "secret"))
    var token: String?

    @Option(name: .long, help: ArgumentHelp("Where the random payload file is cached (default: $XDG_CACHE_HOME/nettune or ~/.cache/nettune).", valueName: "dir"))
    var cacheDir: String?

    func validate() throws {
        guard buffer.bytes >= 1 else { throw ValidationError("--buffer must be at least 1 byte") }
        if let time, time.duration <= .zero { throw ValidationError("--time must be positive") }
        if file != nil && size.bytes != 230 << 20 { throw ValidationError("give either --file or --size, not both") }
        guard size.bytes > 0 else { throw ValidationError("--size must be positive") }
    }

    func request(to peer: Endpoint, interval: Duration? = nil) throws -> ProbeRequest {
        let environment = ProcessInfo.processInfo.environment
        let payload = try file.map { try PayloadFile.existing($0) }
            ?? PayloadFile.cached(size: size.bytes, directory: cacheDir ?? PayloadFile.defaultCacheDirectory(environment: environment))
        let secret = token ?? environment["NETTUNE_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        return ProbeRequest(endpoint: peer, payload: payload, bufferSize: buffer.bytes, duration: time?.duration,
                            interval: interval, congestion: congestion, token: Array((secret ?? "").utf8))
    }
}
