/// What a peer that does not speak nettune's protocol sent instead, in words a
/// person can act on: the most common mistakes are an iperf3 server named without
/// `iperf3://`, and a port that belongs to another service (SSH, HTTP, SMTP).
enum ForeignAnswer {
    /// An iperf3 server answers a client's first bytes (taken as its cookie) with one
    /// state byte: PARAM_EXCHANGE, or ACCESS_DENIED when busy, or SERVER_ERROR. No
    /// nettune message starts with any of them ("NTP…").
    static func isIperf3Server(_ bytes: [UInt8]) -> Bool {
        guard let first = bytes.first else { return false }
        return [IperfState.parameterExchange, .accessDenied, .serverError].contains { $0.byte == first }
    }

    /// The first line, quoted, when it is printable ASCII text of 3 or more
    /// characters (a banner or an error page's status line); at most 60 shown.
    static func quotedLine(_ bytes: [UInt8]) -> String? {
        let line = bytes.prefix { $0 != UInt8(ascii: "\r") && $0 != UInt8(ascii: "\n") }
        guard line.count >= 3, line.allSatisfy({ (0x20...0x7E).contains($0) }) else { return nil }
        let text = String(decoding: line.prefix(60), as: UTF8.self)
        return "\"\(text)\(line.count > 60 ? "…" : "")\""
    }
}
