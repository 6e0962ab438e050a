import Testing

@testable import NetTune

@Suite struct ByteCountTests {
    @Test(arguments: [
        ("230MiB", 230 << 20), ("230M", 230 << 20), ("1G", 1 << 30), ("1GiB", 1 << 30),
        ("4096", 4096), ("1KB", 1000), ("1.5MiB", 3 << 19), ("10 MiB", 10 << 20), ("0", 0)
    ])
    func parses(text: String, bytes: Int) throws {
        #expect(try ByteCount(parsing: text).bytes == bytes)
    }

    @Test(arguments: ["", "MiB", "-1M", "12XB", "1.2.3M", "ten"])
    func rejects(text: String) {
        #expect(throws: ByteCountError.self) { try ByteCount(parsing: text) }
    }

    @Test func formats() {
        #expect(ByteCount(512).description == "512 B")
        #expect(ByteCount(4096).description == "4 KiB")
        #expect(ByteCount(212_992).description == "208 KiB")
        #expect(ByteCount(6_291_456).description == "6 MiB")
        #expect(ByteCount(3 << 29).description == "1.5 GiB")
    }
}

@Suite struct BitRateTests {
    @Test func formatsInSIUnits() {
        #expect(BitRate(bitsPerSecond: 100_000_000).description == "100 Mbit/s")
        #expect(BitRate(bitsPerSecond: 956_600_000).description == "957 Mbit/s")
        #expect(BitRate(bitsPerSecond: 95_600_000).description == "95.6 Mbit/s")
        #expect(BitRate(bitsPerSecond: 21_400_000_000).description == "21.4 Gbit/s")
        #expect(BitRate(bitsPerSecond: 512).description == "512 bit/s")
    }

    /// Figures from outside are checked before they are shown, but a rate no
    /// measurement gives still prints rather than traps.
    @Test func anyDoublePrints() {
        #expect(BitRate(bitsPerSecond: 1e308).description == "1e+308 bit/s")
        #expect(BitRate(bitsPerSecond: -1e308).description == "-1e+308 bit/s")
        #expect(BitRate(bitsPerSecond: .infinity).description == "inf bit/s")
        #expect(BitRate(bitsPerSecond: .nan).description == "nan bit/s")
        #expect(BitRate(bitsPerSecond: -5).description == "-5 bit/s")
    }
}
