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

/// A client that carries out one `ProbeRequest` over a real network, in either
/// protocol: the peer, the directions and the payload are the request's.
public protocol RequestTransport: ProbeTransport {
    var request: ProbeRequest { get }
    /// A signal ends the run in flight at once (through `Interrupted`).
    var interruption: Interruption? { get }
}

extension RequestTransport {
    public var peer: Endpoint { request.endpoint }
    public var direction: ProbeDirection { request.direction }

    /// A probe that only receives has no file here to read.
    public func loadPayload() throws -> PayloadCacheLoad? {
        guard request.payload.isFile else { return nil }
        return try request.payload.loadIntoPageCache(interruption: interruption)
    }
}
