import ArgumentParser
import Foundation
import NetTune

/// What to send and how: shared by `probe`, `apply --probe` and `recommend`.
struct ProbeOptions: ParsableArguments {
    static let defaultSize = 230 << 20

    @Option(name: .long, help: ArgumentHelp("Send this file as it is.", valueName: "path"), completion: .file())
    var file: String?

    @Option(
        name: .long, parsing: .unconditional,
        help: ArgumentHelp("Send a cached file of random bytes of this size (default: 230MiB; recommend: 64MiB).", valueName: "size"),
        transform: Parse.positiveSize)
    var size: SizeArgument?

    @Option(name: .long, help: "How the sender moves the file into the socket.")
    var method: ProbeMethod = .sendfile

    @Option(
        name: .long, parsing: .unconditional, help: ArgumentHelp("Buffer of the readwrite method (default: 128KiB).", valueName: "size"),
        transform: Parse.positiveSize)
    var buffer = SizeArgument(128 << 10)

    @Option(
        name: .long, parsing: .unconditional,
        help: ArgumentHelp("Bytes of an unmeasured first transfer, 0 for none (default: 32MiB).", valueName: "size"),
        transform: Parse.size)
    var warmup = SizeArgument(32 << 20)

    @Option(
        name: [.customShort("t"), .long], parsing: .unconditional,
        help: ArgumentHelp(
            "Resend the payload until this much time has passed, each run (a bare number is seconds, as iperf3's -t).", valueName: "duration"),
        transform: Parse.positiveDuration)
    var time: TimeSpanArgument?

    @Option(
        name: .long, parsing: .unconditional,
        help: ArgumentHelp("Give up when the peer takes no data, or gives no answer, for this long (default: 10s).", valueName: "duration"),
        transform: Parse.positiveDuration)
    var stallTimeout = TimeSpanArgument(.seconds(10))

    @Option(
        name: [.customShort("C"), .long],
        help: ArgumentHelp(
            "Congestion control of the sending sockets (TCP_CONGESTION), e.g. cubic: this machine's, and the server's when it sends (--reverse, --bidir), as iperf3's -C.",
            valueName: "algo"))
    var congestion: String?

    @Option(
        name: .long, help: ArgumentHelp("Secret the server requires, 1 to 255 bytes (default: $NETTUNE_TOKEN).", valueName: "secret"),
        transform: Parse.token)
    var token: String?

    @Option(
        name: .long,
        help: ArgumentHelp("Where the random payload file is cached (default: $XDG_CACHE_HOME/nettune or ~/.cache/nettune).", valueName: "dir"))
    var cacheDir: String?

    @Option(
        name: [.customShort("P"), .long], parsing: .unconditional,
        help: ArgumentHelp("Streams in each direction, 1 to 128, as iperf3's -P (default: 1).", valueName: "n"),
        transform: Parse.count(1...ProbeWire.maxStreams))
    var parallel = 1

    @Option(
        name: .long, parsing: .unconditional,
        help: ArgumentHelp("How long to wait in the server's queue while others measure (default: 2min).", valueName: "duration"),
        transform: Parse.duration)
    var queueTimeout = TimeSpanArgument(.seconds(120))

    @Option(
        name: .long,
        help: ArgumentHelp(
            "How this machine discards what it receives: trunc (recv with MSG_TRUNC, no copy), splice (to /dev/null through a pipe), recv (copy into a buffer).",
            valueName: "method"))
    var drain: DrainMethod = .default

    @Flag(name: [.customShort("4"), .customLong("ipv4")], help: "Reach the peer over IPv4 only.")
    var ipv4 = false

    @Flag(name: [.customShort("6"), .customLong("ipv6")], help: "Reach the peer over IPv6 only.")
    var ipv6 = false

    @Option(
        name: [.customShort("B"), .long],
        help: ArgumentHelp("Leave from this local address (numeric; fe80::1%IFACE for link-local), as iperf3's -B.", valueName: "address"))
    var bind: String?

    @Option(
        name: .long, parsing: .unconditional,
        help: ArgumentHelp("Give up on a connection not established within this (default: 5s).", valueName: "duration"),
        transform: Parse.positiveDuration)
    var connectTimeout = TimeSpanArgument(.seconds(5))

    func validate() throws {
        if file != nil && size != nil { throw ValidationError("give either --file or --size, not both") }
        if ipv4 && ipv6 { throw ValidationError("give either -4 or -6") }
        if let congestion, !ProbeWire.isCongestionName(congestion) {
            throw ValidationError(
                "--congestion '\(congestion)' is not the name of a congestion control (letters, digits, _ and -, at most \(ProbeWire.maxCongestionNameLength); see net.ipv4.tcp_available_congestion_control)"
            )
        }
    }

    var connectOptions: ConnectOptions {
        ConnectOptions(family: ipv4 ? .ipv4 : (ipv6 ? .ipv6 : .any), bindAddress: bind)
    }

    /// The request, with the payload made or checked. `defaultSize` is what
    /// `--size` means when it is not given; `interruption` ends the making of it.
    /// A probe that only receives (`direction` `.receive`) makes no file: it asks
    /// the server for that many bytes.
    func request(
        to peer: Endpoint, interval: Duration? = nil, direction: ProbeDirection = .send,
        defaultSize: Int = ProbeOptions.defaultSize, interruption: Interruption?
    ) throws -> ProbeRequest {
        let environment = ProcessInfo.processInfo.environment
        let payload: PayloadFile
        if let file {
            payload = try PayloadFile.existing(file)
        } else if direction == .receive {
            payload = .requested(size: size?.bytes ?? defaultSize)
        } else {
            let directory = try cacheDir.map { try AtomicFile.absolute($0) } ?? PayloadFile.defaultCacheDirectory(environment: environment)
            let bytes = size?.bytes ?? defaultSize
            // Made once; seconds on a slow card, so a terminal is shown how far it is.
            let progress = ProgressLine()
            var shown = -1
            payload = try progress.around {
                try PayloadFile.cached(size: bytes, directory: directory, interruption: interruption) { written in
                    let percent = Int(Double(written) / Double(bytes) * 100)
                    guard percent != shown else { return }
                    shown = percent
                    progress.show("making the payload: \(ByteCount(bytes)) of random bytes in \(directory.string), \(percent) % …")
                }
            }
        }
        var secret = token
        if peer.peerProtocol == .iperf3 {
            // iperf3's own authentication (RSA, -u) is not nettune's token.
            guard token == nil else {
                throw ValidationError("--token is for nettune serve; an iperf3 server takes none (iperf3's RSA authentication is not supported)")
            }
        } else if secret == nil, let fromEnvironment = environment["NETTUNE_TOKEN"], !fromEnvironment.isEmpty {
            secret = try Parse.token(fromEnvironment)
        }
        var request = ProbeRequest(
            endpoint: peer, payload: payload, bufferSize: buffer.bytes, duration: time?.duration,
            interval: interval, congestion: congestion, token: Array((secret ?? "").utf8),
            connectTimeout: connectTimeout.duration, replyTimeout: stallTimeout.duration, stallTimeout: stallTimeout.duration,
            direction: direction, streams: parallel, queueTimeout: queueTimeout.duration, drain: drain)
        request.connect = connectOptions
        return request
    }
}
