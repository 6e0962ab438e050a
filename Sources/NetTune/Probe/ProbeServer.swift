import Foundation
import Synchronization
import SystemPackage

/// `nettune serve`: the other end of probes, on one port, one probe at a time
/// with a queue for the rest.
///
/// Every connection — a probe's control connection and each of its data
/// connections — comes to the one listening port, as with iperf3, so a firewall
/// that opens the port is enough. An accepted socket inherits its receive buffer
/// from its listener, so a listener opened before a `tcp_rmem` change would hide
/// the change: before each probe starts, the server opens a fresh listener on the
/// same port (SO_REUSEPORT), takes what the old one holds and closes it, and only
/// then tells the client to connect its data streams.
public final class ProbeServer: Sendable {
    public struct Configuration: Sendable {
        public var bind: String?
        public var port: UInt16
        public var maxBytes: UInt64
        /// A client that moves nothing for this long is dropped.
        public var idleTimeout: Duration
        /// A connection's first message must arrive within this: a client dripping one
        /// byte at a time cannot hold a slot.
        public var headerTimeout: Duration
        /// The longest a timed probe may run.
        public var maxDuration: Duration
        public var token: [UInt8]?
        public var drain: DrainMethod
        public var once: Bool
        /// Clients that may wait while one probe runs (0: refuse them as busy).
        public var queueLimit: Int
        /// Streams a probe may open in each direction.
        public var maxStreams: Int
        /// What the server sends when a client receives.
        public var payload: ServerPayload
        /// This machine's tuning toward a client reached from a local address.
        public var tuning: @Sendable (String?) -> TuningState
        /// The congestion controls a client may ask the server's sending sockets to use.
        public var congestionControls: @Sendable () -> [String]
        /// Connections handled at once, from everywhere and from one address (more
        /// are closed as they arrive): enough for a full queue of probes with all their
        /// streams, while one host flooding the port with idle connections (each
        /// allowed its header timeout) can neither exhaust threads nor shut every other
        /// client out. 320 from one address: a `-P 128 --bidir` probe's 257 connections,
        /// and a queue's control connections behind one NAT.
        public var connectionLimits: (total: Int, perAddress: Int) = (1024, 320)

        public init(
            bind: String? = nil, port: UInt16 = 9000, maxBytes: UInt64 = 64 << 30, idleTimeout: Duration = .seconds(10),
            headerTimeout: Duration = .seconds(5), maxDuration: Duration = .seconds(600), token: [UInt8]? = nil,
            drain: DrainMethod = .default, once: Bool = false, queueLimit: Int = 8, maxStreams: Int = ProbeWire.maxStreams,
            payload: ServerPayload,
            tuning: @escaping @Sendable (String?) -> TuningState = { _ in TuningState() },
            congestionControls: @escaping @Sendable () -> [String] = { ServerCongestion.available() }
        ) {
            self.bind = bind
            self.port = port
            self.maxBytes = maxBytes
            self.idleTimeout = idleTimeout
            self.headerTimeout = headerTimeout
            self.maxDuration = maxDuration
            self.token = token
            self.drain = drain
            self.once = once
            self.queueLimit = queueLimit
            self.maxStreams = maxStreams
            self.payload = payload
            self.tuning = tuning
            self.congestionControls = congestionControls
        }

        /// How long a probe of `length` bytes per direction may take: at the minimum
        /// rate, plus the time to notice a stall.
        func timeLimit(length: UInt64, duration: Duration?) -> Duration {
            if let duration { return min(duration, maxDuration) + idleTimeout * 2 }
            let seconds = min(Double(length) * 8 / ProbeRequest.minimumRate, TimeSpan.maximum.seconds)
            return idleTimeout + .seconds(10) + .milliseconds(Int64(seconds * 1000))
        }
    }

    /// What happened to one client, for the log.
    public struct Event: Sendable, Equatable {
        public enum Outcome: Sendable, Equatable {
            case completed
            case refused(RefusedMessage.Status, String)
            case failed(String)
        }
        public var peer: String
        /// What the client spoke: nettune's protocol or iperf3's.
        public var peerProtocol: PeerProtocol = .nettune
        public var method: ProbeMethod?
        public var direction: ProbeDirection?
        public var streams: Int
        public var outcome: Outcome
        /// Bytes the server received and sent, over all streams.
        public var bytesReceived: UInt64
        public var bytesSent: UInt64
        public var seconds: Double
        public var cpu: CPUUsage?
        public var receiveBuffer: Int
        /// How long the client waited in the queue.
        public var queuedSeconds: Double
        /// How long the server made its payload (the first time) and read it into
        /// its page cache before the transfer (0: all of it was there, or it did not send).
        public var payloadReadSeconds: Double = 0
        /// The congestion control of the sockets the server sent on (nil: it sent nothing).
        public var congestion: String?

        init(peer: String) {
            self.peer = peer
            streams = 0
            outcome = .completed
            bytesReceived = 0
            bytesSent = 0
            seconds = 0
            receiveBuffer = 0
            queuedSeconds = 0
        }
    }

    public let configuration: Configuration
    /// Where the server listens.
    public let address: SocketAddress
    /// The first listener, handed to `run`: once a fresh one replaces it, nothing
    /// may keep it open (a listener left in the SO_REUSEPORT group would take
    /// connections nobody accepts).
    private let initial: Mutex<TCPListener?>
    private let stopping = Atomic<Bool>(false)
    /// Wakes the accept loop: a stop, a finished probe with `once`, a listener to rotate.
    private let wake = WakePipe()
    /// Fires on a signal (or `halt`): every wait of the server ends through it.
    private let halting: Interruption

    /// - Parameter interruption: the signals that stop the server at once (`serve`
    ///   installs `Interruption.terminating`); nil: only `halt` does.
    public init(_ configuration: Configuration, stoppedBy interruption: Interruption? = nil) throws {
        self.configuration = configuration
        halting = try interruption ?? Interruption.manual()
        let listener = try TCPListener(host: configuration.bind, port: configuration.port, reusePort: true, exclusive: true)
        address = listener.address
        initial = Mutex(listener)
    }

    /// Ends `run` at once, once the probes under way are done.
    public func stop() {
        stopping.store(true, ordering: .relaxed)
        wake.signal()
    }

    /// Ends `run` now, as a signal does: the listener closes, a probe under way is cut
    /// off and every client still connected is told the server stopped (an iperf3
    /// client gets SERVER_TERMINATE, as from `iperf3 -s`), and each one is logged.
    public func halt(_ signal: Int32 = SIGTERM) {
        halting.trigger(signal)
    }

    /// The signal that stopped the server, nil while none has.
    public var haltedBy: Int32? { halting.signal }

    /// How long a halted server waits for its connections to tell their clients
    /// and log: each wait ends at the halt, so this bounds only a send to a client
    /// that has stopped reading.
    static let haltGrace: DispatchTimeInterval = .seconds(3)

    /// Serves until killed or stopped, or, with `once`, until one probe has completed.
    public func run(log: @escaping @Sendable (Event) -> Void) throws {
        guard let listener = initial.withLock({ $0.take() }) else {
            throw ListenError(what: address.description, errno: .alreadyInProcess, detail: "this server is already running")
        }
        let shared = ServerShared(configuration: configuration, log: log, wake: wake, halt: halting)
        let handlers = DispatchGroup()
        // Handed over, not shared: each listener is closed as soon as it is replaced
        // (see `initial`), and the last when the loop ends, before the wait below,
        // so a client arriving then is refused rather than left hanging.
        try acceptConnections(consume listener, shared: shared, handlers: handlers)
        if halting.signal == nil {
            handlers.wait()
        } else {
            _ = handlers.wait(timeout: .now() + Self.haltGrace)
        }
    }

    private func acceptConnections(_ first: consuming TCPListener, shared: ServerShared, handlers: DispatchGroup) throws {
        var listener = consume first
        while !(configuration.once && shared.completedOne) && !stopping.load(ordering: .relaxed) {
            let rotation = shared.rotationRequested
            if rotation.requested {
                if let fresh = rotate(listener, congestion: rotation.congestion, shared: shared, handlers: handlers) {
                    // The old listener's last reference: it is closed here, before the
                    // session is told and tells its client to connect. Closed later, a
                    // data connection could land in it (SO_REUSEPORT spreads them over
                    // both) and die with it: "opened 0 of the 1 data connections",
                    // once in the fleet test.
                    listener = fresh
                }
                shared.rotated()
            }
            // No timeout: an idle server sleeps until a connection, a wake-up or a
            // signal, and wakes nothing beside a probe it measures (its CPU is the sender's).
            let ready: [Int]
            do {
                ready = try Deadline(nil, interruption: halting).waitReadable([listener.fd, shared.wake.fd])
            } catch is Interrupted {
                return
            }
            if ready.contains(1) { shared.wake.drain() }
            while let connection = try listener.acceptWaiting() {
                dispatch(connection, shared: shared, handlers: handlers)
            }
        }
    }

    /// A fresh listener on the same port, so the next probe's data connections get
    /// the receive buffer `tcp_rmem` gives now, and the congestion control its client
    /// asked for from their handshake on; nil when none can be opened (the old one
    /// serves on). The old one's waiting connections are taken first; the caller
    /// closes it before the probe's client is told to connect. Where the algorithm
    /// cannot be set on it, the session sets it on each connection and reports a
    /// failure there.
    private func rotate(_ old: TCPListener, congestion: String?, shared: ServerShared, handlers: DispatchGroup) -> TCPListener? {
        let fresh =
            (try? TCPListener(host: configuration.bind, port: old.port, reusePort: true, congestion: congestion))
            ?? (try? TCPListener(host: configuration.bind, port: old.port, reusePort: true))
        guard let fresh else { return nil }
        while let connection = try? old.acceptWaiting() {
            dispatch(connection, shared: shared, handlers: handlers)
        }
        return fresh
    }

    private func dispatch(_ connection: TCPConnection, shared: ServerShared, handlers: DispatchGroup) {
        let address = connection.remoteAddress?.host ?? "?"
        guard shared.admitHandler(from: address) else { return }  // too many at once: dropped (closed)
        handlers.enter()
        // The order connections were accepted in: iperf3 numbers a test's streams by it.
        let sequence = shared.nextSequence()
        Thread.detachNewThread {
            ConnectionHandler(shared: shared, connection: connection, sequence: sequence).run()
            shared.handlerDone(from: address)
            handlers.leave()
        }
    }
}

/// Where the bytes come from when the server sends.
public enum ServerPayload: Sendable {
    /// The operator's file (`serve --file`).
    case file(PayloadFile)
    /// Random bytes of this size, made once in this cache directory.
    case cache(directory: FilePath, size: Int)

    /// Random bytes of `size` in `directory`, refused at once (not at the first
    /// client's request) when they are not made yet and their file system has no room.
    public static func checkedCache(directory: FilePath, size: Int) throws(PayloadError) -> ServerPayload {
        let made = try? PayloadFile.existing(PayloadFile.cachedPath(size: size, directory: directory).string)
        if made?.size != size { try PayloadFile.checkRoom(for: size, in: directory) }
        return .cache(directory: directory, size: size)
    }

    /// The payload, made first if it is random bytes not made yet (`made` hears of
    /// every MiB).
    /// - Throws: `PayloadError`, `Interrupted` when the server is stopped while it
    ///   makes its random payload, or what `made` threw.
    func resolve(interruption: Interruption?, made: ((_ written: Int, _ size: Int) throws -> Void)? = nil) throws -> PayloadFile {
        switch self {
        case .file(let file): return file
        case .cache(let directory, let size):
            return try PayloadFile.cached(size: size, directory: directory, interruption: interruption) { try made?($0, size) }
        }
    }
}
