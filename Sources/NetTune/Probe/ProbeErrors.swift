/// The server said no: busy, a bad token, a request too large, another version.
public struct ProbeRefusedError: Error, CustomStringConvertible, Equatable {
    public var endpoint: Endpoint
    public var refusal: RefusedMessage
    public var description: String { "\(endpoint) refused the probe: \(PeerText.sanitized(refusal.message))" }
}

/// The peer speaks another version of the probe protocol.
public struct ProbeVersionMismatch: Error, CustomStringConvertible, Equatable {
    public var endpoint: Endpoint
    public var detail: ProbeWireError
    public var description: String { "\(endpoint): \(detail)" }
}

/// The peer sent bytes that are not the probe protocol.
public struct ProbeProtocolError: Error, CustomStringConvertible, Equatable {
    public var endpoint: Endpoint
    public var detail: ProbeWireError
    /// The first bytes the peer sent (at most 64), to say what it is instead.
    public var received: [UInt8] = []
    /// The peer is the server: an iperf3 server's answer is recognised.
    public var peerIsServer = false

    public var description: String {
        if peerIsServer, ForeignAnswer.isIperf3Server(received) {
            var iperf3 = endpoint
            iperf3.peerProtocol = .iperf3
            return "\(endpoint) answered as an iperf3 server does, not as `nettune serve`: to measure against it, name it \(iperf3)"
        }
        return "\(endpoint) does not speak nettune's probe protocol: \(detail)\(whatItSent)"
    }

    /// "; it sent "SSH-2.0-OpenSSH_9.2"" when the peer's first line is text, else "".
    public var whatItSent: String { ForeignAnswer.quotedLine(received).map { "; it sent \($0)" } ?? "" }
}

/// The transfer did not complete.
public struct ProbeFailedError: Error, CustomStringConvertible, Equatable {
    public var endpoint: Endpoint
    public var message: String
    public var description: String { message }
}
