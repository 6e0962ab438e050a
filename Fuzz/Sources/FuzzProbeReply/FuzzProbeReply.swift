import FuzzSupport
import NetTune

/// libFuzzer drives this binary (see FuzzSupport).
@_cdecl("FuzzProbeReply_main")
public func main(argc: Int32, argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc: argc, argv: argv, fuzzProbeReply)
}

/// Every byte string a server could answer with.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzProbeReply(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = fuzzInput(data, size)
    if let (reply, used) = try? ProbeReply.decode(bytes) {
        precondition(used <= bytes.count, "a reply claims more bytes than it was given")
        // Whatever the server's text, what reaches a terminal holds no control characters.
        let shown = PeerText.sanitized(reply.message)
        precondition(!shown.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) })
    }
    return 0
}
