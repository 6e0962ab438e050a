/// Just enough of protocol version 1 (nettune 0.1) to tell an older peer, in its
/// own words, which versions each side speaks — instead of "bad magic".
enum LegacyWire {
    /// A version-1 client's header starts "NTPB", a version-1 server's reply "NTPR".
    static let clientMagic: [UInt8] = Array("NTPB".utf8)
    static let serverMagic: [UInt8] = Array("NTPR".utf8)
    static let replyFixedSize = 72

    /// True for the first four bytes of a version-1 message.
    static func isLegacy(_ bytes: ArraySlice<UInt8>) -> Bool {
        Array(bytes) == clientMagic || Array(bytes) == serverMagic
    }

    /// A refusal a version-1 client decodes and prints: "refused the probe: <message>".
    static func refusal(_ message: String) -> [UInt8] {
        let text = Array(message.utf8.prefix(1024))
        var out = serverMagic
        out += [1, 3, 2, 0]  // version 1, kind "refused", status "bad request", reserved
        out.appendBigEndian(UInt16(0))
        out.appendBigEndian(UInt16(text.count))
        out += [UInt8](repeating: 0, count: 7 * 8 + 4)
        return out + text
    }
}
