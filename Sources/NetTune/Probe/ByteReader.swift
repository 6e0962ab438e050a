/// Reads a payload front to back; running past its end is a malformed message.
struct ByteReader {
    let bytes: [UInt8]
    let what: String
    var offset = 0

    init(_ bytes: [UInt8], what: String) {
        self.bytes = bytes
        self.what = what
    }

    var remaining: Int { bytes.count - offset }
    var isAtEnd: Bool { offset == bytes.count }

    mutating func bytes(_ count: Int) throws(ProbeWireError) -> [UInt8] {
        guard count >= 0, remaining >= count else { throw .malformed("\(what) ends early") }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    mutating func integer<T: FixedWidthInteger>(_: T.Type) throws(ProbeWireError) -> T {
        let raw = try bytes(MemoryLayout<T>.size)
        return raw.readBigEndian(T.self, at: 0)
    }

    mutating func u8() throws(ProbeWireError) -> UInt8 { try integer(UInt8.self) }
    mutating func u16() throws(ProbeWireError) -> UInt16 { try integer(UInt16.self) }
    mutating func u32() throws(ProbeWireError) -> UInt32 { try integer(UInt32.self) }
    mutating func u64() throws(ProbeWireError) -> UInt64 { try integer(UInt64.self) }

    /// A u8 length, then that many bytes.
    mutating func shortBytes() throws(ProbeWireError) -> [UInt8] { try bytes(Int(try u8())) }

    /// A u8 length, then UTF-8 without control characters.
    mutating func shortText() throws(ProbeWireError) -> String { try checked(try shortBytes()) }

    /// A u16 length (at most `maxMessageLength`), then UTF-8 text.
    mutating func text() throws(ProbeWireError) -> String {
        let length = Int(try u16())
        guard length <= ProbeWire.maxMessageLength else { throw .malformed("a text of \(length) bytes") }
        return String(decoding: try bytes(length), as: UTF8.self)
    }

    private func checked(_ raw: [UInt8]) throws(ProbeWireError) -> String {
        let text = String(decoding: raw, as: UTF8.self)
        guard text.unicodeScalars.allSatisfy(PeerText.isSafe) else { throw .malformed("control characters in \(what)") }
        return text
    }
}

extension Array where Element == UInt8 {
    mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        var big = value.bigEndian
        Swift.withUnsafeBytes(of: &big) { append(contentsOf: $0) }
    }

    func readBigEndian<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        var value: T = 0
        for byte in self[offset..<offset + MemoryLayout<T>.size] { value = value << 8 | T(byte) }
        return value
    }

    mutating func appendShortBytes(_ bytes: [UInt8]) {
        append(UInt8(bytes.count))
        self += bytes
    }

    mutating func appendText(_ text: String) {
        let bytes = Array(text.utf8.prefix(ProbeWire.maxMessageLength))
        appendBigEndian(UInt16(bytes.count))
        self += bytes
    }
}
