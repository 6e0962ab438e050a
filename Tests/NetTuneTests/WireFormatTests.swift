import Testing

@testable import NetTune

@Suite struct ProbeMessageTests {
    static let session = SessionID(bytes: Array(1...16))
    static var info: TCPInfo {
        var info = TCPInfo(kernelBytes: [])
        info.state = 1
        info.busyMicroseconds = 900_000
        info.rwndLimitedMicroseconds = 300_000
        info.sndbufLimitedMicroseconds = 0
        info.bytesRetransmitted = 4344
        info.deliveryRate = 117_000_000
        info.bytesAcked = 241_172_480
        info.totalRetransmits = 3
        info.rttMicroseconds = 100_250
        info.minRTTMicroseconds = 100_040
        info.sndCwnd = 8300
        info.sndMSS = 1448
        info.pmtu = 1500
        return info
    }

    static var all: [ProbeMessage] {
        var result = ResultMessage(ok: true, message: "fine ✓")
        result.cpuUserNanoseconds = 1
        result.cpuSystemNanoseconds = 2
        result.hostBusyNanoseconds = 3
        result.hostSoftirqNanoseconds = 4
        result.hostTotalNanoseconds = 5
        result.streams = [
            StreamReport(
                index: 0, direction: .send, bytes: 120_586_240, nanoseconds: 1_000_000_000, receiveBuffer: 131072,
                sendBuffer: 16384, tcpInfo: nil),
            StreamReport(
                index: 1, direction: .receive, bytes: 120_586_240, nanoseconds: 999_000_000, receiveBuffer: 131072,
                sendBuffer: 4_194_304, tcpInfo: info)
        ]
        return [
            .request(
                ProbeRequestMessage(
                    direction: .both, method: .splice, streams: 4, length: 241_172_480, duration: nil,
                    queueWait: .seconds(120), token: Array("s3cret".utf8), software: "nettune 0.1.0")),
            .request(
                ProbeRequestMessage(
                    direction: .receive, method: .readwrite, streams: 128, length: nil, duration: .seconds(10),
                    queueWait: .zero, token: [], software: "")),
            .request(
                ProbeRequestMessage(
                    direction: .receive, method: .sendfile, streams: 1, length: nil, duration: .seconds(2),
                    queueWait: .zero, token: [], software: "nettune 0.1.0", congestion: "reno")),
            .queued(position: 2, waiting: 3),
            .ready(
                session: session, streams: 8,
                tuning: TuningState(
                    tcpWmem: "4096 16384 4194304", tcpRmem: "4096 4096 4096",
                    wmemMax: 212992, rmemMax: 212992, congestion: "bbr", mtu: 1500,
                    interface: "eth0", kernel: "6.18.44", version: "0.1.0",
                    shapingRate: 100_000_000, linkSpeed: 1_000_000_000, qdisc: "mq", defaultQdisc: "fq_codel")),
            .refused(RefusedMessage(status: .busy, message: "busy: another probe is running")),
            .result(result),
            .result(ResultMessage(ok: false, message: "the client stalled")),
            .data(session: session, stream: 255),
            .go,
            .preparing(PreparingMessage(bytes: 268_435_456, resident: 1 << 20, read: 128 << 20)),
            .preparing(PreparingMessage(bytes: 1, resident: nil, read: 1))
        ]
    }

    /// `--parallel 128 --bidir`: 256 streams, each with TCP_INFO, and the longest
    /// message. It was 25,645 bytes against a 16 KiB frame limit, and the client
    /// called the server one that "does not speak nettune's probe protocol".
    @Test func theLargestResultFitsAFrame() throws {
        var result = ResultMessage(ok: false, message: String(repeating: "x", count: ProbeWire.maxMessageLength + 10))
        result.streams = (0..<(ProbeWire.maxStreams * 2)).map {
            StreamReport(
                index: $0, direction: $0 < ProbeWire.maxStreams ? .send : .receive, bytes: .max, nanoseconds: .max,
                receiveBuffer: .max, sendBuffer: .max, tcpInfo: Self.info)
        }
        let bytes = ProbeMessage.result(result).encoded()
        #expect(bytes.count - ProbeWire.frameHeaderSize <= ProbeWire.maxPayload)
        guard case .result(let decoded)? = try ProbeMessage.decode(bytes)?.message else {
            Issue.record("not a result")
            return
        }
        #expect(decoded.streams.count == 256)
        #expect(decoded.streams.last?.tcpInfo == Self.info)
    }

    @Test(arguments: Array(all.indices))
    func roundTrips(index: Int) throws {
        let message = Self.all[index]
        let bytes = message.encoded()
        let decoded = try #require(try ProbeMessage.decode(bytes))
        #expect(decoded.message == message)
        #expect(decoded.size == bytes.count)
        // What follows a message is not part of it.
        #expect(try ProbeMessage.decode(bytes + [0x4E, 0x54])?.size == bytes.count)
    }

    /// Every proper prefix of every message asks for more bytes; none is an error.
    @Test(arguments: Array(all.indices))
    func everyTruncationNeedsMore(index: Int) throws {
        let bytes = Self.all[index].encoded()
        for length in 0..<bytes.count {
            #expect(try ProbeMessage.decode(Array(bytes.prefix(length))) == nil, "prefix of \(length) bytes")
        }
    }

    /// A frame whose payload is cut short (its length field lying) is malformed.
    @Test(arguments: Array(all.indices))
    func aPayloadShorterThanItsFieldsIsMalformed(index: Int) throws {
        var bytes = Self.all[index].encoded()
        guard bytes.count > ProbeWire.frameHeaderSize else { return }
        bytes.removeLast()
        let length = UInt16(bytes.count - ProbeWire.frameHeaderSize)
        bytes[6] = UInt8(length >> 8)
        bytes[7] = UInt8(length & 0xFF)
        #expect(throws: ProbeWireError.self) { try ProbeMessage.decode(bytes) }
    }

    @Test func layoutIsBigEndianAsDocumented() {
        let bytes = ProbeMessage.queued(position: 0x0102, waiting: 0x0304).encoded()
        #expect(bytes == Array("NTP2".utf8) + [2, 0, 0, 4, 1, 2, 3, 4])
        let request = ProbeMessage.request(
            ProbeRequestMessage(
                direction: .send, method: .sendfile, streams: 1, length: 0x0102_0304_0506_0708,
                duration: nil, queueWait: .seconds(1), token: [], software: "")
        ).encoded()
        #expect(Array(request[8..<14]) == [1, 1, 0, 1, 0, 0])
        #expect(Array(request[14..<22]) == [1, 2, 3, 4, 5, 6, 7, 8])
        #expect(Array(request[22..<30]) == [0, 0, 0, 0, 0, 0, 0x03, 0xE8])
    }

    @Test func garbageIsRefusedAtTheFirstWrongByte() {
        #expect(throws: ProbeWireError.badMagic) { try ProbeMessage.decode(Array("GET / HTTP/1.1\r\n".utf8)) }
        #expect(throws: ProbeWireError.badMagic) { try ProbeMessage.decode([0x4E, 0]) }
        #expect(throws: ProbeWireError.badMagic) { try ProbeMessage.decode([0xFF]) }
    }

    /// Version 1 (nettune 0.1) is recognised by its own magic, from either side.
    @Test func anOlderPeerIsNamedAsSuch() throws {
        #expect(throws: ProbeWireError.versionMismatch(peerVersion: 1, peerIsServer: false)) {
            try ProbeMessage.decode(Array("NTPB".utf8) + [1, 1, 0, 0])
        }
        #expect(throws: ProbeWireError.versionMismatch(peerVersion: 1, peerIsServer: true)) {
            try ProbeMessage.decode(LegacyWire.refusal("x"))
        }
        #expect(try ProbeMessage.decode(Array("NTPB".utf8)) == nil)  // the version byte decides
        let text = ProbeWireError.versionMismatch(peerVersion: 1, peerIsServer: true).description
        #expect(text == "the server speaks probe protocol 1, this nettune speaks 2: upgrade nettune on the server")
        // The refusal a version-1 client receives decodes with version 1's layout.
        let refusal = LegacyWire.refusal("upgrade the client")
        #expect(refusal.count == LegacyWire.replyFixedSize + 18)
        #expect(Array(refusal[0..<5]) == Array("NTPR".utf8) + [1])
    }

    @Test func hostileValuesAreRefusedOneByOne() throws {
        func field(_ message: ProbeMessage, _ offset: Int, _ value: UInt8) -> [UInt8] {
            var bytes = message.encoded()
            bytes[ProbeWire.frameHeaderSize + offset] = value
            return bytes
        }
        let request = Self.all[0]
        #expect(throws: ProbeWireError.malformed("direction 9")) { try ProbeMessage.decode(field(request, 0, 9)) }
        #expect(throws: ProbeWireError.unknownMethod(7)) { try ProbeMessage.decode(field(request, 1, 7)) }
        #expect(throws: ProbeWireError.malformed("0 streams (1–128)")) {
            var bytes = field(request, 2, 0)
            bytes[ProbeWire.frameHeaderSize + 3] = 0
            return try ProbeMessage.decode(bytes)
        }
        #expect(throws: ProbeWireError.malformed("1028 streams (1–128)")) { try ProbeMessage.decode(field(request, 2, 4)) }
        #expect(throws: ProbeWireError.unknownFlags(0x8000)) { try ProbeMessage.decode(field(request, 4, 0x80)) }
        #expect(throws: ProbeWireError.unknownFlags(4)) { try ProbeMessage.decode(field(request, 5, 4)) }
        var unknown = ProbeMessage.go.encoded()
        unknown[4] = 99
        #expect(throws: ProbeWireError.unknownMessage(99)) { try ProbeMessage.decode(unknown) }
        var huge = ProbeMessage.go.encoded()
        huge[6] = 0xFF
        #expect(throws: ProbeWireError.malformed("a payload of 65280 bytes")) { try ProbeMessage.decode(huge) }
        var extra = ProbeMessage.go.encoded()
        extra[7] = 1
        #expect(throws: ProbeWireError.malformed("go has 1 bytes too many")) { try ProbeMessage.decode(extra + [0]) }
        // A zero-length or zero-duration probe asks for nothing.
        let empty = ProbeMessage.request(
            ProbeRequestMessage(
                direction: .send, method: .sendfile, streams: 1, length: 0, duration: nil,
                queueWait: .zero, token: [], software: "")
        ).encoded()
        #expect(throws: ProbeWireError.malformed("a probe of 0 bytes")) { try ProbeMessage.decode(empty) }
        // A server reading its payload reads no more than it has, nor keeps more in memory.
        func preparing(flags: UInt8, bytes: UInt64, resident: UInt64, read: UInt64) -> [UInt8] {
            var payload: [UInt8] = [flags]
            for value in [bytes, resident, read] { payload.appendBigEndian(value) }
            return ProbeWire.magic + [8, 0, 0, UInt8(payload.count)] + payload
        }
        #expect(try ProbeMessage.decode(preparing(flags: 1, bytes: 10, resident: 10, read: 10)) != nil)
        #expect(throws: ProbeWireError.malformed("11 resident and 0 read of a 10-byte payload")) {
            try ProbeMessage.decode(preparing(flags: 1, bytes: 10, resident: 11, read: 0))
        }
        #expect(throws: ProbeWireError.malformed("0 resident and 11 read of a 10-byte payload")) {
            try ProbeMessage.decode(preparing(flags: 1, bytes: 10, resident: 0, read: 11))
        }
        #expect(throws: ProbeWireError.malformed("5 resident and 0 read of a 10-byte payload")) {
            try ProbeMessage.decode(preparing(flags: 0, bytes: 10, resident: 5, read: 0))
        }
        #expect(throws: ProbeWireError.unknownFlags(3)) { try ProbeMessage.decode(preparing(flags: 3, bytes: 10, resident: 0, read: 0)) }
        // A congestion control's name is a name, checked before any setsockopt sees it.
        for name in ["", "bbr;reboot", "tcp\u{1B}[2J", "sixteen-letters!", String(repeating: "b", count: 16)] {
            let asking = ProbeMessage.request(
                ProbeRequestMessage(
                    direction: .receive, method: .sendfile, streams: 1, length: 1, duration: nil,
                    queueWait: .zero, token: [], software: "", congestion: name)
            ).encoded()
            #expect(throws: ProbeWireError.self, "\(name)") { try ProbeMessage.decode(asking) }
        }
        #expect(ProbeWire.isCongestionName(String(repeating: "b", count: 15)) && ProbeWire.isCongestionName("bbr_2-x"))
        // Control characters in a server's tuning text are refused, not printed.
        let sneaky = ProbeMessage.ready(session: Self.session, streams: 1, tuning: TuningState(kernel: "6.1\u{1B}[2J")).encoded()
        #expect(throws: ProbeWireError.self) { try ProbeMessage.decode(sneaky) }
        // Numbers where numbers belong.
        var badMTU = ProbeMessage.ready(session: Self.session, streams: 1, tuning: TuningState(mtu: 1500)).encoded()
        badMTU[badMTU.count - 4] = UInt8(ascii: "x")
        #expect(throws: ProbeWireError.malformed("attribute 6 is not a number")) { try ProbeMessage.decode(badMTU) }
        // A qdisc's kind is a name too (it is printed in the diagnosis).
        for name in ["", "fq codel", "fq;x", String(repeating: "q", count: 16)] {
            for tuning in [TuningState(qdisc: name), TuningState(defaultQdisc: name)] {
                let ready = ProbeMessage.ready(session: Self.session, streams: 1, tuning: tuning).encoded()
                #expect(throws: ProbeWireError.self, "\(name)") { try ProbeMessage.decode(ready) }
            }
        }
    }

    @Test func unknownTuningAttributesAreSkipped() throws {
        var bytes = ProbeMessage.ready(session: Self.session, streams: 1, tuning: TuningState()).encoded()
        bytes[bytes.count - 1] = 1  // one attribute
        bytes += [200, 3] + Array("new".utf8)
        bytes[7] += 5
        guard case .ready(_, _, let tuning)? = try ProbeMessage.decode(bytes)?.message else {
            Issue.record("not ready")
            return
        }
        #expect(tuning == TuningState())
    }

    @Test func streamsTakeTheirShareWithTheRemainderToTheFirst() {
        #expect(ProbeClient.share(of: 10, stream: 0, streams: 3) == 4)
        #expect(ProbeClient.share(of: 10, stream: 2, streams: 3) == 3)
        #expect(ProbeClient.share(of: 1, stream: 0, streams: 128) == 1)
        #expect(ProbeClient.share(of: 1, stream: 5, streams: 128) == 0)
    }

    @Test func tokensCompareByValue() {
        #expect(constantTimeEqual(Array("abc".utf8), Array("abc".utf8)))
        #expect(!constantTimeEqual(Array("abc".utf8), Array("abd".utf8)))
        #expect(!constantTimeEqual(Array("abc".utf8), Array("abcd".utf8)))
        #expect(!constantTimeEqual([], [0]))
        #expect(!constantTimeEqual([UInt8](repeating: 1, count: 256), []))
        #expect(constantTimeEqual([], []))
    }
}

@Suite struct EndpointTests {
    @Test func parses() throws {
        #expect(try Endpoint(parsing: "10.0.0.2:9000") == Endpoint(host: "10.0.0.2", port: 9000))
        #expect(try Endpoint(parsing: "[::1]:9000") == Endpoint(host: "::1", port: 9000))
        #expect(try Endpoint(parsing: "server.lan:80").host == "server.lan")
        #expect(Endpoint(host: "::1", port: 9000).description == "[::1]:9000")
        // Without a port: nettune serve's 9000.
        #expect(try Endpoint(parsing: "10.0.0.2") == Endpoint(host: "10.0.0.2", port: 9000))
        #expect(try Endpoint(parsing: "nas.lan").description == "nas.lan:9000")
        #expect(try Endpoint(parsing: "[fe80::1]") == Endpoint(host: "fe80::1", port: 9000))
    }

    @Test(arguments: ["", "[::1", "a/b", "10.0.0.2:", ":9000", "10.0.0.2:0", "10.0.0.2:70000", "::1:9000", "[::1]9000", "host:port"])
    func rejects(text: String) {
        #expect(throws: EndpointError.self) { try Endpoint(parsing: text) }
    }

    /// The kernel refuses a link-local peer without its interface with a bare EINVAL.
    @Test func aLinkLocalPeerWithoutItsInterfaceIsToldWhatIsMissing() throws {
        #expect(Endpoint(host: "fe80::1", port: 9000).isLinkLocalWithoutZone)
        #expect(Endpoint(host: "FEBF::1", port: 9000).isLinkLocalWithoutZone)
        for host in ["fe80::1%eth0", "fec0::1", "::1", "10.0.0.2", "fe80.lan"] {
            #expect(!Endpoint(host: host, port: 9000).isLinkLocalWithoutZone, "\(host)")
        }
        let error = ConnectionError(endpoint: Endpoint(host: "fe80::1", port: 9000), operation: "connect", errno: .invalidArgument)
        #expect(error.description == "connect to [fe80::1]:9000 failed: a link-local address needs the interface it is on, e.g. [fe80::1%eth0]:9000")
    }
}
