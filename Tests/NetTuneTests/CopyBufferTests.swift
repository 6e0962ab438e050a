import Testing

@testable import NetTune

/// The read/write sender's buffer starts on a page, whatever its size (malloc
/// alone puts a 128 KiB one 16 bytes past a page).
@Suite struct CopyBufferTests {
    @Test(arguments: [1 << 10, 64 << 10, 128 << 10, 256 << 10, 4 << 20])
    func aCopyBufferStartsOnAPage(byteCount: Int) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocateForCopies(byteCount: byteCount)
        defer { buffer.deallocate() }
        let start = try #require(buffer.baseAddress)
        #expect(Int(bitPattern: start) % 4096 == 0)
        #expect(buffer.count == byteCount)
    }
}
