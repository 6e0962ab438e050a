import Testing
@testable import NetTune

@Suite struct ProbeHeaderTests {
    let header = ProbeHeader(method: .splice, flags: .timed, length: 241_172_480, token: Array("s3cret".utf8))

    @Test func roundTrips() throws {
        let bytes = header.encoded()
        #expect(bytes.count == ProbeWire.headerFixedSize + 6)
        let decoded = try #require(try ProbeHeader.decode(bytes))
        #expect(decoded.header == header)
        #expect(decoded.size == bytes.count)
        // Bytes after the header are not part of it.
        #expect(try ProbeHeader.decode(bytes + [1, 2, 3])?.size == bytes.count)
    }

    @Test func layoutIsBigEndianAsDocumented() {
        let bytes = ProbeHeader(method: .sendfile, length: 0x0102_0304_0506_0708).encoded()
        #expect(Array(bytes[0..<4]) == Array("NTPB".utf8))
        #expect(bytes[4] == 1)
        #expect(bytes[5] == 1)
        #expect(Array(bytes[6..<8]) == [0, 0])
        #expect(Array(bytes[8..<16]) == [1, 2, 3, 4, 5, 6, 7, 8])
        #expect(Array(bytes[16..<18]) == [0, 0])
    }

    /// Every proper prefix of a valid header asks for more bytes; none is an error.
    @Test func everyTruncationNeedsMore() throws {
        let bytes = header.encoded()
        for length in 0..<bytes.count {
            #expect(try ProbeHeader.decode(Array(bytes.prefix(length))) == nil, "prefix of \(length) bytes")
        }
    }

    @Test func garbageIsRefusedAtTheFirstWrongByte() {
        #expect(throws: ProbeWireError.badMagic) { try ProbeHeader.decode(Array("GET / HTTP/1.1\r\n".utf8)) }
        #expect(throws: ProbeWireError.badMagic) { try ProbeHeader.decode([0x4E]  + [0]) }
        #expect(throws: ProbeWireError.badMagic) { try ProbeHeader.decode([0xFF]) }
    }

    @Test func badFieldsAreRefusedOneByOne() {
        var bytes = header.encoded()
        bytes[4] = 9
        #expect(throws: ProbeWireError.unsupportedVersion(9)) { try ProbeHeader.decode(Array(bytes.prefix(5))) }

        bytes = header.encoded()
        bytes[5] = 7
        #expect(throws: ProbeWireError.unknownMethod(7)) { try ProbeHeader.decode(bytes) }

        bytes = header.encoded()
        bytes[6] = 0x80
        #expect(throws: ProbeWireError.unknownFlags(0x8001)) { try ProbeHeader.decode(bytes) }

        bytes = header.encoded()
        bytes[16] = 0x01  // token length 256 + 6
        #expect(throws: ProbeWireError.tokenTooLong(262)) { try ProbeHeader.decode(bytes) }
    }

    @Test func hostileLengthsAreJustNumbers() throws {
        let huge = ProbeHeader(method: .readwrite, length: .max).encoded()
        #expect(try ProbeHeader.decode(huge)?.header.length == .max)
    }
}

@Suite struct ProbeReplyTests {
    @Test func roundTrips() throws {
        var reply = ProbeReply(kind: .result, status: .ok, message: "fine ✓")
        reply.dataPort = 40001
        reply.bytes = 241_172_480
        reply.receiveNanoseconds = 123_456_789
        reply.cpuUserNanoseconds = 1
        reply.cpuSystemNanoseconds = 2
        reply.hostBusyNanoseconds = 3
        reply.hostSoftirqNanoseconds = 4
        reply.hostTotalNanoseconds = 5
        reply.receiveBuffer = 131072
        let bytes = reply.encoded()
        #expect(bytes.count == ProbeWire.replyFixedSize + "fine ✓".utf8.count)
        #expect(try ProbeReply.decode(bytes)?.reply == reply)
        for length in 0..<bytes.count {
            #expect(try ProbeReply.decode(Array(bytes.prefix(length))) == nil)
        }
    }

    @Test func refusesWhatIsNotAReply() {
        #expect(throws: ProbeWireError.badMagic) { try ProbeReply.decode(Array("SSH-2.0-OpenSSH".utf8)) }
        var bytes = ProbeReply(kind: .ready, status: .ok).encoded()
        bytes[5] = 99
        #expect(throws: ProbeWireError.malformedReply("kind 99")) { try ProbeReply.decode(bytes) }
        bytes = ProbeReply(kind: .ready, status: .ok).encoded()
        bytes[10] = 0xFF
        #expect(throws: ProbeWireError.self) { try ProbeReply.decode(bytes) }
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
    }

    @Test(arguments: ["10.0.0.2", "10.0.0.2:", ":9000", "10.0.0.2:0", "10.0.0.2:70000", "::1:9000", "[::1]9000", "host:port"])
    func rejects(text: String) {
        #expect(throws: EndpointError.self) { try Endpoint(parsing: text) }
    }
}
