import Foundation
import Glibc
import Synchronization

/// Host names looked up with a time limit and an end on a signal.
///
/// getaddrinfo waits on the name servers for as long as resolv.conf allows (5 s
/// per try and server by default, minutes with `options timeout:` and `attempts:`),
/// and glibc's resolver starts its wait again after a signal. A `try --peer
/// NAME` whose name server did not answer kept its profile for a minute after
/// SIGTERM. Here the lookup runs on a thread of its own, and the caller waits for
/// it on a pipe: `limit`, or a signal, ends the wait at once (the thread finishes
/// in the background, and its answer is dropped).
enum NameLookup {
    /// glibc's default is two tries of 5 s on one server; a lookup that succeeds
    /// through a dead first server (5 s) still fits.
    static let limit = Duration.seconds(10)

    /// - Parameter lookup: getaddrinfo with these flags (replaced in tests by one
    ///   that never answers).
    static func addresses(
        host: String, port: UInt16, family: Int32, interruption: Interruption?, limit: Duration = limit,
        lookup: (@Sendable (_ flags: Int32) -> Result<[SocketAddress], EndpointError>)? = nil
    ) throws -> [SocketAddress] {
        let lookup = lookup ?? { flags in Endpoint.lookup(host: host, port: port, family: family, flags: flags) }
        // A numeric address needs no name server: answered at once, here.
        switch lookup(AI_NUMERICHOST) {
        case .success(let addresses): return addresses
        case .failure(.unresolvable(_, _, numericOnly: true)): break
        case .failure(let error): throw error
        }
        let pending = PendingLookup()
        Thread.detachNewThread {
            pending.finish(lookup(0))
        }
        let deadline = Deadline.after(limit, interruption: interruption)
        while true {
            if let result = pending.result { return try result.get() }
            guard try deadline.wait(for: Int16(POLLIN), on: pending.wake.fd) else {
                if let result = pending.result { return try result.get() }
                throw EndpointError.unresolvable(
                    host: host, reason: "no answer from the name servers within \(TimeSpan.format(limit)); check /etc/resolv.conf, or give an address"
                )
            }
        }
    }

    /// What the lookup thread hands back; it and the pipe live as long as either side needs them.
    private final class PendingLookup: Sendable {
        let wake = WakePipe()
        private let answer = Mutex<Result<[SocketAddress], EndpointError>?>(nil)

        var result: Result<[SocketAddress], EndpointError>? { answer.withLock { $0 } }

        func finish(_ result: Result<[SocketAddress], EndpointError>) {
            answer.withLock { $0 = result }
            wake.signal()
        }
    }
}
