import FuzzSupport
import NetTune

/// libFuzzer drives this binary (see FuzzSupport).
@_cdecl("FuzzProbeMessage_main")
public func main(argc: Int32, argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc: argc, argv: argv, fuzzProbeMessage)
}

/// Every byte string either end could send: a request or a data hello from a
/// client, any answer from a server. The decoder must return a message, ask for
/// more bytes, or throw — never trap — and what it returns must survive its own
/// encoder and carry no control characters to a terminal.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzProbeMessage(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = fuzzInput(data, size)
    guard let (message, used) = try? ProbeMessage.decode(bytes) else { return 0 }
    precondition(used <= bytes.count, "a message claims more bytes than it was given")
    precondition((try? ProbeMessage.decode(message.encoded()))?.message == message, "a decoded message does not survive its encoder")
    switch message {
    case .request(let request):
        precondition((1...ProbeWire.maxStreams).contains(request.streams))
        precondition(request.length != nil || request.duration != nil)
    case .refused(let refused):
        precondition(!PeerText.sanitized(refused.message).unicodeScalars.contains { $0.value < 0x20 })
    case .result(let result):
        precondition(result.streams.count <= ProbeWire.maxStreams * 2)
    case .preparing(let preparing):
        precondition(preparing.read <= preparing.bytes && (preparing.resident ?? 0) <= preparing.bytes)
    default:
        break
    }
    return 0
}
