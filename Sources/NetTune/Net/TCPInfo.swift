/// The kernel's `struct tcp_info` (linux/tcp.h), the fields nettune reports.
///
/// Decoded from the bytes `getsockopt(TCP_INFO)` returns at the offsets of the
/// kernel's layout, which only ever grows at the end: glibc's own `struct tcp_info`
/// is older and lacks the busy/limited counters. Fields beyond what the running
/// kernel returned are nil.
public struct TCPInfo: Equatable, Sendable {
    public var state: UInt8
    public var sndMSS: UInt32
    public var pmtu: UInt32
    /// Smoothed RTT and its variance, µs.
    public var rttMicroseconds: UInt32
    public var rttVarMicroseconds: UInt32
    /// Congestion window, in segments.
    public var sndCwnd: UInt32
    public var totalRetransmits: UInt32
    public var bytesAcked: UInt64?
    /// Bytes that arrived in order at this end, read by the application or not
    /// (Linux ≥ 4.1). Read locally only; the probe protocol does not carry it.
    public var bytesReceived: UInt64?
    public var minRTTMicroseconds: UInt32?
    /// Time with data in flight, and the parts of it limited by the receiver's
    /// window or our send buffer (µs; Linux ≥ 4.10).
    public var busyMicroseconds: UInt64?
    public var rwndLimitedMicroseconds: UInt64?
    public var sndbufLimitedMicroseconds: UInt64?
    public var bytesSent: UInt64?
    public var bytesRetransmitted: UInt64?
    public var sndWnd: UInt32?
    /// The kernel's estimate of the delivery rate, bytes/s (Linux ≥ 4.9): what the
    /// path carried, which the diagnosis uses when the window cut the throughput.
    public var deliveryRate: UInt64?
    /// Times the sender saw segments arrive out of order (SACK/DSACK evidence;
    /// Linux ≥ 4.19): what a link that reorders shows. Read locally only; the
    /// probe protocol does not carry it.
    public var reorderingSeen: UInt32?
    /// Segments sent and not yet acknowledged, and bytes written but not yet sent:
    /// both 0 once the peer has everything.
    public var unacked: UInt32
    public var notsentBytes: UInt32?

    /// Size of the kernel structure this decoder knows (Linux 6.x: 232 bytes or more).
    static let requestSize = 256

    public init(kernelBytes bytes: [UInt8]) {
        func u32(_ offset: Int) -> UInt32? {
            guard offset + 4 <= bytes.count else { return nil }
            return bytes[offset..<offset + 4].reversed().reduce(0) { $0 << 8 | UInt32($1) }
        }
        func u64(_ offset: Int) -> UInt64? {
            guard offset + 8 <= bytes.count else { return nil }
            return bytes[offset..<offset + 8].reversed().reduce(0) { $0 << 8 | UInt64($1) }
        }
        state = bytes.first ?? 0
        sndMSS = u32(16) ?? 0
        pmtu = u32(60) ?? 0
        rttMicroseconds = u32(68) ?? 0
        rttVarMicroseconds = u32(72) ?? 0
        sndCwnd = u32(80) ?? 0
        totalRetransmits = u32(100) ?? 0
        bytesAcked = u64(120)
        bytesReceived = u64(128)
        minRTTMicroseconds = u32(148)
        busyMicroseconds = u64(168)
        rwndLimitedMicroseconds = u64(176)
        sndbufLimitedMicroseconds = u64(184)
        bytesSent = u64(200)
        bytesRetransmitted = u64(208)
        sndWnd = u32(228)
        deliveryRate = u64(160)
        reorderingSeen = u32(220)
        unacked = u32(24) ?? 0
        notsentBytes = u32(144)
    }

    /// TCP_ESTABLISHED.
    public var isEstablished: Bool { state == 1 }

    /// The payload bytes that arrived in order: `bytesReceived` counts the peer's
    /// FIN as one more. Nil on a kernel without the counter, or once the socket is
    /// closed (when whether the FIN came cannot be told).
    public var payloadBytesReceived: UInt64? {
        guard let bytesReceived else { return nil }
        switch state {
        case 1, 4, 5: return bytesReceived  // ESTABLISHED, FIN_WAIT1, FIN_WAIT2: no FIN from the peer yet
        case 6, 8, 9, 11: return bytesReceived > 0 ? bytesReceived - 1 : 0  // TIME_WAIT, CLOSE_WAIT, LAST_ACK, CLOSING: it came
        default: return nil
        }
    }
}
