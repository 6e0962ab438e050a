import Synchronization

/// What the accept loop and every connection handler share.
final class ServerShared: Sendable {
    let configuration: ProbeServer.Configuration
    let log: @Sendable (ProbeServer.Event) -> Void
    let queue: ProbeQueue
    let registry = SessionRegistry()
    let iperfRegistry = IperfStreamRegistry()
    /// Lets a probe ask the accept loop for a fresh listener and be woken when done.
    let wake: WakePipe
    /// Fires when the server is stopped by a signal: a session's waits carry it.
    let halt: Interruption
    private let rotation = Mutex<(requested: Bool, generation: Int, congestion: String?)>((false, 0, nil))
    private let completed = Mutex(false)
    /// Connection handlers at once, in all and per client address (`connectionLimits`).
    private let handlers = Mutex(HandlerCounts())

    struct HandlerCounts {
        var total = 0
        var byAddress: [String: Int] = [:]
        /// Addresses at their cap whose refusal was logged: once until they drop below it.
        var loggedAtCap: Set<String> = []
    }

    init(configuration: ProbeServer.Configuration, log: @escaping @Sendable (ProbeServer.Event) -> Void, wake: WakePipe, halt: Interruption) {
        self.configuration = configuration
        self.log = log
        self.wake = wake
        self.halt = halt
        queue = ProbeQueue(limit: configuration.queueLimit)
    }

    /// A session's wait: ends at `duration` or when the server is stopped.
    func deadline(after duration: Duration) -> Deadline { .after(duration, interruption: halt) }

    /// "the server was stopped (SIGTERM)" once it has been; nil while it runs.
    var haltMessage: String? {
        halt.signal.map { "the server was stopped (\(Interrupted(signal: $0).signalName))" }
    }

    var completedOne: Bool { completed.withLock { $0 } }

    /// With `--once`, after its one probe: why a client still connected (in the
    /// queue, or arrived before the port closed) cannot be served; nil before.
    var exitingMessage: String? {
        configuration.once && completedOne
            ? "the server has served its one probe (serve --once) and is exiting; try again once it is started again" : nil
    }
    func markCompleted() {
        completed.withLock { $0 = true }
        wake.signal()
    }

    /// A fresh listener asked for, with the congestion control its connections are to use.
    var rotationRequested: (requested: Bool, congestion: String?) { rotation.withLock { ($0.requested, $0.congestion) } }

    /// Asks for a fresh listener and waits until the old one is closed.
    /// - Parameter congestion: the algorithm the probe's data connections use from
    ///   their handshake on (set on the listener, which they inherit it from).
    func rotateListener(congestion: String? = nil) {
        let generation = rotation.withLock { state -> Int in
            state.requested = true
            state.congestion = congestion
            return state.generation
        }
        wake.signal()
        let deadline = ContinuousClock.now + .seconds(2)
        while rotation.withLock({ $0.generation == generation }) && ContinuousClock.now < deadline && halt.signal == nil {
            try? Deadline.after(.milliseconds(5), interruption: halt).sleep()
        }
    }

    func rotated() {
        rotation.withLock { $0 = (false, $0.generation + 1, nil) }
    }

    /// Whether a connection from `address` (its host, without the port) gets a
    /// handler; when it does not, it is closed. The first refusal of an address at
    /// its cap is logged, not every one (a flood would fill the log).
    func admitHandler(from address: String) -> Bool {
        let limits = configuration.connectionLimits
        let (admitted, logRefusal) = handlers.withLock { counts -> (Bool, Bool) in
            let open = counts.byAddress[address, default: 0]
            guard counts.total < limits.total, open < limits.perAddress else {
                guard open >= limits.perAddress else { return (false, false) }
                return (false, counts.loggedAtCap.insert(address).inserted)
            }
            counts.total += 1
            counts.byAddress[address] = open + 1
            return (true, false)
        }
        if logRefusal {
            var event = ProbeServer.Event(peer: address)
            event.outcome = .refused(
                .busy,
                "\(limits.perAddress) connections from this address are open at once (a probe needs at most 257); "
                    + "further ones are closed until some end")
            log(event)
        }
        return admitted
    }

    func handlerDone(from address: String) {
        handlers.withLock { counts in
            counts.total -= 1
            let open = counts.byAddress[address, default: 1] - 1
            counts.byAddress[address] = open > 0 ? open : nil
            if open < configuration.connectionLimits.perAddress { counts.loggedAtCap.remove(address) }
        }
    }

    private let sequence = Mutex<UInt64>(0)
    func nextSequence() -> UInt64 {
        sequence.withLock {
            $0 += 1
            return $0
        }
    }
}
