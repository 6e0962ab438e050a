import NetTune

/// One log line per client of `nettune serve`.
enum ServeLog {
    static func line(_ event: ProbeServer.Event) -> String {
        let method = event.method.map { " \($0.rawValue)" } ?? ""
        switch event.outcome {
        case .completed:
            let rate = event.seconds > 0 ? BitRate(bitsPerSecond: Double(event.bytes) * 8 / event.seconds).description : "-"
            let cpu = event.cpu.map { String(format: ", receiver CPU %.2f s", $0.processSeconds) } ?? ""
            return "\(event.peer)\(method): \(ByteCount(Int(event.bytes))) in \(String(format: "%.3f", event.seconds)) s, \(rate)\(cpu), rcvbuf \(ByteCount(event.receiveBuffer))"
        case .refused(_, let message):
            return "\(event.peer)\(method): refused: \(message)"
        case .failed(let message):
            return "\(event.peer)\(method): failed: \(message)"
        }
    }
}

/// `serve --json`: one object per client, one per line.
struct ServeEventJSON: Encodable {
    var peer: String
    @Nullable var method: String?
    var outcome: String
    @Nullable var message: String?
    var bytes: UInt64
    var seconds: Double
    var receiveBufferBytes: Int

    init(_ event: ProbeServer.Event) {
        peer = event.peer
        method = event.method?.rawValue
        bytes = event.bytes
        seconds = event.seconds
        receiveBufferBytes = event.receiveBuffer
        switch event.outcome {
        case .completed: outcome = "completed"
        case .refused(_, let text): outcome = "refused"; message = text
        case .failed(let text): outcome = "failed"; message = text
        }
    }

    enum CodingKeys: String, CodingKey {
        case peer, method, outcome, message, bytes, seconds, receiveBufferBytes = "rcvbuf_bytes"
    }
}

import Foundation
