import FuzzSupport
import NetTune

/// libFuzzer drives this binary (see FuzzSupport).
@_cdecl("FuzzProfile_main")
public func main(argc: Int32, argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc: argc, argv: argv, fuzzProfile)
}

/// Any text as a profile file. The parser must accept it or say why — and what it
/// accepts must be a profile nettune can apply.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzProfile(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let text = String(decoding: fuzzInput(data, size), as: UTF8.self)
    if let profile = try? ProfileParser.parse(text, name: "fuzz", path: "fuzz.toml") {
        if let mtu = profile.link.mtu { precondition(LinkSettings.mtuRange.contains(mtu)) }
        precondition(PeerText.isClean(profile.description, limit: 1_000))
        for (key, value) in profile.sysctls {
            precondition(key.components.first == "net" && !key.components.contains(".."))
            precondition(!value.isEmpty && SysctlSchema.problem(with: value, for: key) == nil)
        }
    }
    return 0
}
