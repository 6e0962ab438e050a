import Synchronization

/// One probe measures at a time — two at once would disturb each other — and up
/// to `limit` more wait their turn in order, instead of being told "busy".
final class ProbeQueue: Sendable {
    struct Ticket: Hashable, Sendable { let id: Int }

    private struct State {
        var next = 0
        var active: Ticket?
        var waiting: [Ticket] = []
    }

    let limit: Int
    private let state = Mutex(State())

    init(limit: Int) {
        self.limit = limit
    }

    /// A place in line, or nil when the line is full (and someone measures).
    func join() -> Ticket? {
        state.withLock { state in
            let ticket = Ticket(id: state.next)
            state.next += 1
            if state.active == nil && state.waiting.isEmpty {
                state.active = ticket
                return ticket
            }
            guard state.waiting.count < limit else { return nil }
            state.waiting.append(ticket)
            return ticket
        }
    }

    /// The turn at once, or nil: for clients that cannot wait in line (iperf3's
    /// protocol has no "queued"), so they are told busy like iperf3 tells them.
    func joinIfIdle() -> Ticket? {
        state.withLock { state in
            guard state.active == nil && state.waiting.isEmpty else { return nil }
            let ticket = Ticket(id: state.next)
            state.next += 1
            state.active = ticket
            return ticket
        }
    }

    /// 0 once it is this ticket's turn (taking it), else its position (1 = next),
    /// and how many wait in all.
    func position(_ ticket: Ticket) -> (position: Int, waiting: Int) {
        state.withLock { state in
            if state.active == ticket { return (0, state.waiting.count) }
            if state.active == nil, state.waiting.first == ticket {
                state.waiting.removeFirst()
                state.active = ticket
                return (0, state.waiting.count)
            }
            let index = state.waiting.firstIndex(of: ticket) ?? state.waiting.count
            return (index + 1, state.waiting.count)
        }
    }

    /// Gives up a place, or ends the turn.
    func leave(_ ticket: Ticket) {
        state.withLock { state in
            if state.active == ticket { state.active = nil }
            state.waiting.removeAll { $0 == ticket }
        }
    }
}

/// Data connections on their way to the probe they belong to.
final class SessionRegistry: Sendable {
    private struct Pending {
        var host: String
        var expected: Int
        var connections: [Int: TCPConnection] = [:]
    }

    private let sessions = Mutex<[SessionID: Pending]>([:])

    func open(_ session: SessionID, host: String, expected: Int) {
        sessions.withLock { $0[session] = Pending(host: host, expected: expected) }
    }

    /// Hands a data connection to its probe; a stranger's, a duplicate or an
    /// unknown session's is dropped (closed).
    func deliver(_ connection: TCPConnection, session: SessionID, stream: Int) {
        sessions.withLock { sessions in
            guard var pending = sessions[session], connection.endpoint.host == pending.host,
                stream < pending.expected, pending.connections[stream] == nil
            else { return }
            pending.connections[stream] = connection
            sessions[session] = pending
        }
    }

    /// Waits until every data connection of `session` has arrived.
    /// - Parameter hungUp: whether the client has hung up its control connection
    ///   (asked between looks): then there is nothing left to wait for.
    /// - Returns: them in stream order, or how many came when the deadline passed,
    ///   its interruption fired or the client hung up.
    func collect(_ session: SessionID, deadline: Deadline, hungUp: () -> Bool = { false }) -> Result<[TCPConnection], CollectShortfall> {
        defer { sessions.withLock { $0[session] = nil } }
        while true {
            let (arrived, expected) = sessions.withLock { ($0[session]?.connections ?? [:], $0[session]?.expected ?? 0) }
            if arrived.count == expected {
                return .success((0..<expected).compactMap { arrived[$0] })
            }
            if let shortfall = CollectShortfall(arrived: arrived.count, expected: expected, deadline: deadline, hungUp: hungUp) {
                return .failure(shortfall)
            }
            try? Deadline(min(ContinuousClock.now + .milliseconds(5), deadline.instant ?? .now)).sleep()
        }
    }

    struct CollectShortfall: Error {
        let arrived: Int
        let expected: Int
        /// The client hung up before the rest came (else the time ran out or a signal came).
        var clientHungUp = false

        /// Why waiting for the rest is over, if it is.
        init?(arrived: Int, expected: Int, deadline: Deadline, hungUp: () -> Bool) {
            self.arrived = arrived
            self.expected = expected
            if deadline.hasPassed || deadline.interruption?.signal != nil { return }
            guard hungUp() else { return nil }
            clientHungUp = true
        }

        /// What the log says of it.
        func describe(idleTimeout: Duration) -> String {
            clientHungUp
                ? "the client hung up after opening \(arrived) of the \(expected) data connections it announced"
                : "the client opened \(arrived) of the \(expected) data connections it announced within \(TimeSpan.format(idleTimeout))"
        }
    }
}

/// The data connections of iperf3 tests on their way to their test: each starts
/// with the test's cookie, and they are numbered in the order they arrive.
final class IperfStreamRegistry: Sendable {
    private struct Pending {
        var host: String
        var expected: Int
        var connections: [(sequence: UInt64, connection: TCPConnection)] = []
    }

    enum Delivery { case delivered, unwanted, unknown }

    private let tests = Mutex<[[UInt8]: Pending]>([:])

    func open(_ cookie: [UInt8], host: String, expected: Int) {
        tests.withLock { $0[cookie] = Pending(host: host, expected: expected) }
    }

    func close(_ cookie: [UInt8]) {
        _ = tests.withLock { $0.removeValue(forKey: cookie) }
    }

    /// Hands a connection to the test whose cookie it began with.
    func deliver(_ connection: TCPConnection, cookie: [UInt8], sequence: UInt64) -> Delivery {
        tests.withLock { tests in
            guard var pending = tests[cookie] else { return .unknown }
            guard connection.endpoint.host == pending.host, pending.connections.count < pending.expected else { return .unwanted }
            pending.connections.append((sequence, connection))
            tests[cookie] = pending
            return .delivered
        }
    }

    /// Waits until every announced connection of the test has arrived.
    /// - Returns: them in the order they were accepted (the client's order).
    func collect(
        _ cookie: [UInt8], deadline: Deadline, hungUp: () -> Bool = { false }
    ) -> Result<[TCPConnection], SessionRegistry.CollectShortfall> {
        while true {
            let (arrived, expected) = tests.withLock { ($0[cookie]?.connections ?? [], $0[cookie]?.expected ?? 0) }
            if arrived.count == expected { return .success(arrived.sorted { $0.sequence < $1.sequence }.map(\.connection)) }
            if let shortfall = SessionRegistry.CollectShortfall(arrived: arrived.count, expected: expected, deadline: deadline, hungUp: hungUp) {
                return .failure(shortfall)
            }
            try? Deadline(min(ContinuousClock.now + .milliseconds(5), deadline.instant ?? .now)).sleep()
        }
    }
}
