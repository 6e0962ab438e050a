import Foundation
import NetTune

/// One log line per client of `nettune serve`.
enum ServeLog {
    static func line(_ event: ProbeServer.Event) -> String {
        var method = event.peerProtocol == .iperf3 ? " iperf3" : (event.method.map { " \($0.rawValue)" } ?? "")
        if let direction = event.direction { method += " " + (direction == .send ? "in" : direction == .receive ? "out" : "both ways") }
        if event.streams > 1 { method += " ×\(event.streams)" }
        switch event.outcome {
        case .completed:
            let bytes = event.bytesReceived + event.bytesSent
            let rate = event.seconds > 0 ? BitRate(bitsPerSecond: Double(bytes) * 8 / event.seconds).description : "-"
            let cpu = event.cpu.map { String(format: ", server CPU %.2f s", $0.processSeconds) } ?? ""
            let queued = event.queuedSeconds >= 0.5 ? String(format: " (queued %.1f s)", event.queuedSeconds) : ""
            let read =
                event.payloadReadSeconds > 0
                ? String(format: " (payload made or read into the page cache first, %.2f s)", event.payloadReadSeconds) : ""
            let congestion = event.congestion.map { ", sent with \($0)" } ?? ""
            return
                "\(event.peer)\(method): \(ByteCount(Int(clamping: bytes))) in \(String(format: "%.3f", event.seconds)) s, \(rate)\(cpu), rcvbuf \(ByteCount(event.receiveBuffer))\(congestion)\(queued)\(read)"
        case .refused(_, let message):
            return "\(event.peer)\(method): refused: \(message)"
        case .failed(let message):
            // How far it got, when it got anywhere: a stop or a stall mid-transfer.
            let moved = event.bytesReceived + event.bytesSent
            let after = moved > 0 ? " after \(ByteCount(Int(clamping: moved))) in \(String(format: "%.3f", event.seconds)) s" : ""
            return "\(event.peer)\(method): failed\(after): \(message)"
        }
    }
}

/// `serve --json`: one object per client, one per line.
struct ServeEventJSON: Encodable {
    var peer: String
    /// What the client spoke: "nettune" or "iperf3".
    var peerProtocol: String
    @Nullable var method: String?
    @Nullable var direction: String?
    var streams: Int
    var outcome: String
    @Nullable var message: String?
    /// Received plus sent.
    var bytes: UInt64
    var bytesReceived: UInt64
    var bytesSent: UInt64
    var seconds: Double
    var queuedSeconds: Double
    var payloadReadSeconds: Double
    var receiveBufferBytes: Int
    /// The congestion control of the sockets the server sent on; null when it sent nothing.
    @Nullable var congestion: String?

    init(_ event: ProbeServer.Event) {
        peer = event.peer
        peerProtocol = event.peerProtocol.rawValue
        method = event.method?.rawValue
        direction = event.direction.map(ProbeJSON.name)
        streams = event.streams
        bytes = event.bytesReceived + event.bytesSent
        bytesReceived = event.bytesReceived
        bytesSent = event.bytesSent
        seconds = event.seconds
        queuedSeconds = event.queuedSeconds
        payloadReadSeconds = event.payloadReadSeconds
        receiveBufferBytes = event.receiveBuffer
        congestion = event.congestion
        switch event.outcome {
        case .completed: outcome = "completed"
        case .refused(_, let text):
            outcome = "refused"
            message = text
        case .failed(let text):
            outcome = "failed"
            message = text
        }
    }

    enum CodingKeys: String, CodingKey {
        case peer
        case peerProtocol = "protocol"
        case method, direction, streams, outcome, message, bytes
        case bytesReceived = "bytes_received"
        case bytesSent = "bytes_sent"
        case seconds
        case queuedSeconds = "queued_s"
        case payloadReadSeconds = "payload_read_s"
        case receiveBufferBytes = "rcvbuf_bytes"
        case congestion
    }
}
