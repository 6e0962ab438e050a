import FuzzSupport
import NetTune

/// libFuzzer drives this binary (see FuzzSupport).
@_cdecl("FuzzSnapshot_main")
public func main(argc: Int32, argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc: argc, argv: argv, fuzzSnapshot)
}

/// Any bytes as a snapshot file. A snapshot that decodes holds only values
/// `revert` can safely write back.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSnapshot(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = fuzzInput(data, size)
    if let snapshot = try? Snapshot.decode(bytes) {
        for mtu in snapshot.mtus.values { precondition(LinkSettings.heldMTURange.contains(mtu)) }
        for name in snapshot.sysctls.keys { precondition((try? SysctlKey(name)) != nil) }
        // A boot id is the kernel's UUID or absent: it is compared, and printed in no message.
        precondition(snapshot.bootID.map { $0.utf8.count == 36 } ?? true)
        // And it survives a round trip through its own encoder.
        precondition((try? Snapshot.decode(snapshot.encoded())) == snapshot)
    }
    return 0
}
