/// The client for a peer's protocol.
public enum ProbeTransports {
    /// nettune's own protocol for `HOST:PORT`, iperf3's for `iperf3://HOST[:PORT]`.
    public static func client(_ request: ProbeRequest, interruption: Interruption?) -> any ProbeTransport {
        switch request.endpoint.peerProtocol {
        case .nettune: return ProbeClient(request, interruption: interruption)
        case .iperf3: return IperfClient(request, interruption: interruption)
        }
    }
}
