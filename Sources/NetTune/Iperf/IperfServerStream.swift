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

    func run(stopping: borrowing Atomic<Bool>) -> Result<IperfServerSession.StreamTally, any Error> {
        Result { () throws -> IperfServerSession.StreamTally in
            var moved: UInt64 = 0
            var first = start, last = start
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
                        moved += UInt64(count)
                        offset = (offset + count) % fileSize
                        last = .now
                    }
                } else {
                    let drainer = try Drainer(method: drain, socket: connection.fd, wait: wait)
                    while true {
                        let n = try drainer.drain(limit: 1 << 20)
                        if n == 0 { break }
                        // A receiver's time runs from the first byte's arrival, not from
                        // TEST_START: what queued ahead of the data on the path is not
                        // the transfer's (iperf3's own server reports the same window).
                        if moved == 0 { first = .now }
                        moved += UInt64(n)
                        last = .now
                    }
                }
            } catch {
                // TEST_END shuts every socket: what fails after it is the end, not a
                // fault; so does the server's stop, and what moved is counted for the log.
                guard stopping.load(ordering: .relaxed) || error is Interrupted else { throw error }
            }
            // What the socket took, partial sends cut off by TEST_END included.
            if serverSends { moved = wait.bytes }
            let retransmits = serverSends ? Int((try? connection.tcpInfo())?.totalRetransmits ?? 0) : -1
            return IperfServerSession.StreamTally(
                bytes: moved, seconds: max(0, (last - first).seconds), serverSent: serverSends,
                retransmits: retransmits)
        }
    }
}
