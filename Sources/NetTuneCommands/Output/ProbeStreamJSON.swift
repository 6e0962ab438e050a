import NetTune

/// `nettune probe --json-stream`: one compact JSON object per line, each with a
/// `"type"`: `"start"` once the first transfer is connected, `"interval"` as each
/// interval ends, and `"result"` at the end with every key of `--json`.
enum ProbeStreamJSON {
    struct Start: Encodable {
        let type = "start"
        var peer: String
        @Nullable var resolved: String?
        var peerProtocol: String
        var direction: String
        var streams: Int
        var method: String
        @Nullable var file: String?
        var bytes: Int
        var kernel: String
        @Nullable var congestion: String?
        @Nullable var egressInterface: String?
        @Nullable var mtu: Int?
        var runs: Int
        var version: String

        init(_ header: ProbeHeader) {
            let report = header.report
            peer = report.peer.description
            resolved = header.remoteAddress
            peerProtocol = report.peer.peerProtocol.rawValue
            direction = ProbeJSON.name(report.direction)
            streams = report.streams
            method = report.methods.map(\.rawValue).joined(separator: ",")
            file = report.direction == .receive ? nil : report.payloadPath
            bytes = report.payloadBytes
            kernel = report.kernel
            congestion = report.congestion ?? report.local.congestion
            egressInterface = report.egressInterface
            mtu = report.mtu
            runs = header.runs
            version = NetTuneVersion.current
        }

        enum CodingKeys: String, CodingKey {
            case type, peer, resolved, direction, streams, method, file, bytes, kernel, congestion, mtu, runs, version
            case peerProtocol = "protocol"
            case egressInterface = "egress_interface"
        }
    }

    struct IntervalEvent: Encodable {
        let type = "interval"
        var run: Int
        var method: String
        var direction: String
        var interval: ProbeJSON.IntervalJSON

        init(stage: ProbeStage, method: ProbeMethod, ended: DirectedInterval) {
            if case .run(let index, _) = stage { run = index } else { run = 0 }
            self.method = method.rawValue
            direction = ProbeJSON.name(ended.direction)
            interval = ProbeJSON.IntervalJSON(ended.interval)
        }

        // The interval's own keys sit beside run, method and direction.
        func encode(to encoder: any Encoder) throws {
            try interval.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(type, forKey: .type)
            try container.encode(run, forKey: .run)
            try container.encode(method, forKey: .method)
            try container.encode(direction, forKey: .direction)
        }

        enum CodingKeys: String, CodingKey { case type, run, method, direction }
    }

    struct Result: Encodable {
        var result: ProbeJSON

        func encode(to encoder: any Encoder) throws {
            try result.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode("result", forKey: .type)
        }

        enum CodingKeys: String, CodingKey { case type }
    }
}
