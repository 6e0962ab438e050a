import FuzzSupport
import NetTune

/// libFuzzer drives this binary (see FuzzSupport).
@_cdecl("FuzzIperfMessages_main")
public func main(argc: Int32, argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc: argc, argv: argv, fuzzIperfMessages)
}

/// Any bytes as the JSON body of an iperf3 message: the first byte picks which
/// (a client's parameters, as `serve` reads them; a server's results, as `probe
/// iperf3://` reads them). What decodes must hold only sane values.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIperfMessages(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = fuzzInput(data, size)
    guard let selector = bytes.first else { return 0 }
    let body = Array(bytes.dropFirst())
    if selector & 1 == 0 {
        if let parameters = try? IperfParameters(json: body) {
            precondition((1...128).contains(parameters.streams))
            precondition((1...(16 << 20)).contains(parameters.blockSize))
            precondition((0...86_400).contains(parameters.seconds))
            precondition(parameters.connections == parameters.streams * (parameters.bidirectional ? 2 : 1))
            // What this side writes, it reads back.
            if let encoded = try? parameters.encoded(), let again = try? IperfParameters(json: Array(encoded.dropFirst(4))) {
                precondition(again.streams == parameters.streams && again.bytes == parameters.bytes && again.direction == parameters.direction)
            }
        }
    } else if let results = try? IperfResults(json: body) {
        precondition(results.cpuTotal.isFinite && results.cpuTotal >= 0)
        precondition(results.streams.count <= 256)
        precondition(Set(results.streams.map(\.id)).count == results.streams.count)
        for stream in results.streams { precondition(stream.endTime >= stream.startTime && stream.retransmits >= -1) }
    }
    return 0
}
