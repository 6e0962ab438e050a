import Synchronization

/// One data connection of an iperf3 test on the server.
struct IperfServerStream: @unchecked Sendable {
    let connection: TCPConnection
    let serverSends: Bool
    /// The server's share of a test bounded by bytes (`-n`); nil for a timed test.
    let bytes: UInt64?
    let start: ContinuousClock.Instant
    let deadline: Deadline
    let idleTimeout: Duration
    let drain: DrainMethod
    let file: Int32?
    let fileSize: Int
    let blockSize: Int
    /// The end of the seconds the client asked to leave out (`-O`), nil for none:
    /// what moved before it is not counted, and the stream's time starts there, as
    /// iperf3's server resets its counters when its omit timer fires.
    let omitUntil: ContinuousClock.Instant?

    func run(stopping: borrowing Atomic<Bool>) -> Result<IperfServerSession.StreamTally, any Error> {
        Result { () throws -> IperfServerSession.StreamTally in
            var moved: UInt64 = 0
            var first = start, last = start
            var omitting = omitUntil
            var omitted: UInt64 = 0
            var omittedRetransmits: UInt32 = 0
            /// At the first step past the omitted seconds: what moved before this
            /// step is left out (a sender's retransmits too), and the time starts at their end.
            func leaveOutOmitted(now: ContinuousClock.Instant, before: UInt64) {
                guard let end = omitting, now >= end else { return }
                omitting = nil
                omitted = before
                first = end
                if serverSends { omittedRetransmits = (try? connection.tcpInfo())?.totalRetransmits ?? 0 }
            }
            let wait = TransferWait(deadline: deadline, stallTimeout: idleTimeout)
            do {
                if serverSends {
                    guard let file, fileSize > 0 else { throw ServerStream.StreamFailure.noPayload }
                    let sender = try FileSender(method: .sendfile, file: file, socket: connection.fd, bufferSize: blockSize, wait: wait)
                    var offset = 0
                    var chunk = SendChunk()
                    while !stopping.load(ordering: .relaxed) && moved < (bytes ?? .max) {
                        let largest = bytes == nil ? chunk.next(connection) : SendChunk.largest
                        let count = min(largest, fileSize - offset, Int(clamping: (bytes ?? .max) - moved))
                        try sender.send(offset: offset, count: count)
                        last = .now
                        leaveOutOmitted(now: last, before: moved)
                        moved += UInt64(count)
                        offset = (offset + count) % fileSize
                    }
                    // Stopped by TEST_END, not by its bytes: it sent until now (a
                    // send the receiver held back never returned to say so).
                    if bytes == nil { last = .now }
                } else {
                    let drainer = try Drainer(method: drain, socket: connection.fd, wait: wait)
                    while true {
                        let n = try drainer.drain(limit: 1 << 20)
                        if n == 0 { break }
                        // A receiver's time runs from the first byte's arrival, not from
                        // TEST_START: what queued ahead of the data on the path is not
                        // the transfer's (iperf3's own server reports the same window).
                        last = .now
                        if moved == 0 { first = last }
                        leaveOutOmitted(now: last, before: moved)
                        moved += UInt64(n)
                    }
                }
            } catch {
                // TEST_END shuts every socket: what fails after it is the end, not a
                // fault; so does the server's stop, and what moved is counted for the log.
                guard stopping.load(ordering: .relaxed) || error is Interrupted else { throw error }
                if serverSends && bytes == nil { last = .now }
            }
            // What the socket took, partial sends cut off by TEST_END included.
            if serverSends { moved = wait.bytes }
            // Ended inside the omitted seconds: nothing counts.
            if omitting != nil { omitted = moved }
            let total = (try? connection.tcpInfo())?.totalRetransmits ?? 0
            let retransmits = serverSends ? (omitting == nil ? Int(total) - Int(min(omittedRetransmits, total)) : 0) : -1
            return IperfServerSession.StreamTally(
                bytes: moved - min(omitted, moved), seconds: omitting == nil ? max(0, (last - first).seconds) : 0,
                serverSent: serverSends, retransmits: retransmits)
        }
    }
}
