import FuzzSupport
import NetTune

/// libFuzzer drives this binary (see FuzzSupport).
@_cdecl("FuzzProbeHeader_main")
public func main(argc: Int32, argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc: argc, argv: argv, fuzzProbeHeader)
}

/// Every byte string a client could send as a probe header: the decoder must
/// return a header, ask for more bytes, or throw — never trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzProbeHeader(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = fuzzInput(data, size)
    if let (header, used) = try? ProbeHeader.decode(bytes) {
        // What decodes must re-encode to the same bytes.
        precondition(header.encoded() == Array(bytes.prefix(used)), "a decoded header does not round-trip")
    }
    return 0
}
