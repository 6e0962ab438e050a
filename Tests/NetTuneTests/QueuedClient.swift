import Foundation
import Synchronization

@testable import NetTune

/// A second probe started on its own thread while a first one runs, so that it
/// waits in the server's queue; what ended it is kept for the test to check.
final class QueuedClient: Sendable {
    private let failure = Mutex<(any Error)?>(nil)
    private let done = DispatchSemaphore(value: 0)

    /// Starts the client and returns once the server has told it its place in the
    /// queue (or after 10 s, which the test's later checks then show).
    init(_ request: ProbeRequest) {
        let queued = DispatchSemaphore(value: 0)
        Thread.detachNewThread { [self] in
            do {
                _ = try ProbeClient(request).run(.sendfile, waiting: { if $0.queuePosition != nil { queued.signal() } })
            } catch {
                failure.withLock { $0 = error }
            }
            done.signal()
        }
        _ = queued.wait(timeout: .now() + 10)
    }

    /// Whether the client has ended within `seconds`.
    func ended(within seconds: Double = 10) -> Bool {
        guard done.wait(timeout: .now() + seconds) == .success else { return false }
        done.signal()  // given back, so asking again gives the same answer
        return true
    }

    /// The error that ended the client; nil while it runs or if it succeeded.
    var error: (any Error)? { failure.withLock { $0 } }
}
