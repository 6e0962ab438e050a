/// What to send, where, and how.
public struct ProbeRequest: Sendable {
    public var endpoint: Endpoint
    /// The file this machine sends (send streams); receive streams use the server's.
    public var payload: PayloadFile
    /// The read/write buffer of the readwrite method.
    public var bufferSize: Int
    /// With a duration, the payload is sent again and again until it is up.
    public var duration: Duration?
    /// With an interval, acknowledged (or received) bytes are sampled at each boundary.
    public var interval: Duration?
    /// Per-socket congestion control (TCP_CONGESTION).
    public var congestion: String?
    public var token: [UInt8]
    public var connectTimeout: Duration
    /// How long to wait for each of the server's answers.
    public var replyTimeout: Duration
    /// A transfer in which nothing moves for this long has stalled.
    public var stallTimeout: Duration
    /// Send, receive (the server sends), or both at once.
    public var direction: ProbeDirection
    /// Streams in each direction.
    public var streams: Int
    /// How long to wait in the server's queue when another probe is running.
    public var queueTimeout: Duration
    /// How this machine discards what it receives.
    public var drain: DrainMethod
    /// The address family and local address of every connection (`-4`, `-6`, `--bind`).
    public var connect = ConnectOptions()

    public init(
        endpoint: Endpoint, payload: PayloadFile, bufferSize: Int = 128 << 10, duration: Duration? = nil,
        interval: Duration? = nil, congestion: String? = nil, token: [UInt8] = [],
        connectTimeout: Duration = .seconds(5), replyTimeout: Duration = .seconds(10),
        stallTimeout: Duration = .seconds(10), direction: ProbeDirection = .send, streams: Int = 1,
        queueTimeout: Duration = .seconds(120), drain: DrainMethod = .default
    ) {
        self.endpoint = endpoint
        self.payload = payload
        self.bufferSize = bufferSize
        self.duration = duration
        self.interval = interval
        self.congestion = congestion
        self.token = token
        self.connectTimeout = connectTimeout
        self.replyTimeout = replyTimeout
        self.stallTimeout = stallTimeout
        self.direction = direction
        self.streams = streams
        self.queueTimeout = queueTimeout
        self.drain = drain
    }

    /// The shortest report interval (`--interval`), as iperf3's -i. The loop beside
    /// the streams looks every 50 ms: asked for 1 ms, a 3 s run gave 59 intervals
    /// of about 51 ms, not what was asked.
    public static let shortestInterval: Duration = .milliseconds(100)

    /// Slower than this, a transfer is not worth waiting for: it bounds a sized
    /// run's time (230 MiB at 1 Mbit/s is 32 minutes).
    public static let minimumRate = 1e6

    /// The most a run of `bytes` per direction (or a timed run) may take before it
    /// is abandoned, however steadily a trickling peer keeps it moving.
    public func timeLimit(bytes: Int, timed: Bool) -> Duration {
        if timed, let duration { return duration + stallTimeout + replyTimeout }
        let seconds = min(Double(bytes) * 8 / Self.minimumRate, TimeSpan.maximum.seconds)
        return .seconds(60) + .milliseconds(Int64(seconds * 1000))
    }
}
