import Foundation
import Testing

@testable import NetTune
@testable import NetTuneCommands

/// `nettune serve`'s line per client, for people and as JSON.
@Suite struct ServeLogTests {
    static var event: ProbeServer.Event {
        var event = ProbeServer.Event(peer: "10.0.0.1:40000")
        event.method = .sendfile
        event.direction = .receive
        event.streams = 1
        event.bytesSent = 64 << 20
        event.seconds = 0.5
        event.receiveBuffer = 131072
        return event
    }

    @Test func aPayloadReadBeforeTheTransferIsSaid() throws {
        var event = Self.event
        #expect(!ServeLog.line(event).contains("payload read"))
        #expect(try JSONOutput.encodeLine(ServeEventJSON(event)).contains("\"payload_read_s\":0"))
        event.payloadReadSeconds = 1.25
        #expect(ServeLog.line(event).hasSuffix("(payload made or read into the page cache first, 1.25 s)"), "\(ServeLog.line(event))")
        #expect(try JSONOutput.encodeLine(ServeEventJSON(event)).contains("\"payload_read_s\":1.25"))
    }

    @Test func theSendersCongestionControlIsSaidWhenTheServerSent() throws {
        var event = Self.event
        #expect(!ServeLog.line(event).contains("sent with"))
        #expect(try JSONOutput.encodeLine(ServeEventJSON(event)).contains("\"congestion\":null"))
        event.congestion = "reno"
        #expect(ServeLog.line(event).contains("rcvbuf 128 KiB, sent with reno"), "\(ServeLog.line(event))")
        #expect(try JSONOutput.encodeLine(ServeEventJSON(event)).contains("\"congestion\":\"reno\""))
    }

    @Test func aFailedProbeSaysHowFarItGot() {
        var event = Self.event
        event.outcome = .failed("the server was stopped (SIGTERM) during the transfer")
        #expect(
            ServeLog.line(event)
                == "10.0.0.1:40000 sendfile out: failed after 64 MiB in 0.500 s: the server was stopped (SIGTERM) during the transfer")
        event.bytesSent = 0
        event.outcome = .failed("the client went away before the start")
        #expect(ServeLog.line(event) == "10.0.0.1:40000 sendfile out: failed: the client went away before the start")
    }

    /// The shape the README documents for `serve --json`, key for key.
    @Test func theJSONLineHasTheDocumentedKeys() throws {
        let line = try JSONOutput.encodeLine(ServeEventJSON(Self.event))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(
            Set(object.keys) == [
                "peer", "protocol", "method", "direction", "streams", "outcome", "message", "bytes", "bytes_received",
                "bytes_sent", "seconds", "queued_s", "payload_read_s", "rcvbuf_bytes", "congestion"
            ])
    }
}
