import Testing

@testable import NetTune

/// A copy buffer starts where its placement says, whatever its size (malloc alone
/// puts a 128 KiB one 16 bytes past a page), and holds exactly the bytes asked for.
@Suite struct CopyBufferTests {
    /// Each placement with the distance past a page its buffer must start at.
    static let placements: [(CopyBuffer.Placement, Int)] = [(.pageStart, 0), (.halfPage, 2048)]

    @Test(arguments: placements, [1 << 10, 64 << 10, 128 << 10, 256 << 10, 4 << 20])
    func aBufferStartsAtItsPlacement(placement: (CopyBuffer.Placement, Int), byteCount: Int) throws {
        let buffer = CopyBuffer(byteCount: byteCount, placement: placement.0)
        let start = try #require(buffer.bytes.baseAddress)
        #expect(Int(bitPattern: start) % 4096 == placement.1)
        #expect(buffer.bytes.count == byteCount)
        // Every byte is usable: the last one can be written and read back.
        buffer.bytes[byteCount - 1] = 0xA5
        #expect(buffer.bytes[byteCount - 1] == 0xA5)
    }

    @Test func anEmptyBufferIsEmpty() {
        #expect(CopyBuffer(byteCount: 0, placement: .halfPage).bytes.isEmpty)
        #expect(CopyBuffer(byteCount: -1, placement: .pageStart).bytes.isEmpty)
    }
}
