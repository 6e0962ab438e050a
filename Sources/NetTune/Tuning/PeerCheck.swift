/// After an apply in `nettune try --peer`: does the peer still accept a TCP
/// connection, and are full-sized segments getting through?
///
/// It sends a burst larger than one MTU's worth and waits until the kernel reports
/// it all acknowledged (`tcpi_bytes_acked`). An MTU black hole lets the handshake
/// through but stalls the acknowledgement of large segments, which is exactly
/// what an MTU change can cause.
public enum PeerCheck {
    public struct Result: Equatable, Sendable {
        public var bytesAcknowledged: UInt64
        public var seconds: Double
        public var pmtu: UInt32
    }

    public static func run(_ endpoint: Endpoint, bytes: Int = 256 * 1024, timeout: Duration = .seconds(5)) throws -> Result {
        let clock = ContinuousClock()
        let start = clock.now
        let connection = try TCPConnection.connect(to: endpoint, timeout: timeout)
        try connection.sendAll([UInt8](repeating: 0, count: bytes))
        while true {
            let info = try connection.tcpInfo()
            let acked = info.bytesAcked ?? 0
            let elapsed = clock.now - start
            if acked >= UInt64(bytes) {
                return Result(bytesAcknowledged: acked, seconds: elapsed.seconds, pmtu: info.pmtu)
            }
            if elapsed > timeout {
                throw PeerCheckError(endpoint: endpoint, sent: bytes, acknowledged: acked, timeout: timeout)
            }
            try? sleepBriefly()
        }
    }

    private static func sleepBriefly() throws {
        var request = timespec(tv_sec: 0, tv_nsec: 20_000_000)
        _ = nanosleep(&request, nil)
    }
}

public struct PeerCheckError: Error, Equatable, CustomStringConvertible {
    public var endpoint: Endpoint
    public var sent: Int
    public var acknowledged: UInt64
    public var timeout: Duration

    public var description: String {
        "\(endpoint) accepted the connection but acknowledged only \(ByteCount(Int(acknowledged))) of \(ByteCount(sent)) within \(Int(timeout.seconds)) s: "
            + "large packets are not getting through (an MTU the path cannot carry?)"
    }
}

#if canImport(Glibc)
import Glibc
#endif
