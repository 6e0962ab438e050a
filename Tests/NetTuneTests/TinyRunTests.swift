import Foundation
import SystemPackage
import Testing

@testable import NetTune

/// Runs whose streams each arrive in a read or two: the figures stay within what
/// loopback can do. They were nanoseconds long: the server timed each stream it
/// received from that stream's own first byte (64 streams of 16 KiB: "599 Tbit/s",
/// a single 16 KiB stream: "9.36 Tbit/s").
@Suite(.serialized) struct TinyRunTests {
    typealias RunningServer = IperfServerTests.RunningServer

    func request(_ server: RunningServer, size: Int, streams: Int, direction: ProbeDirection) throws -> ProbeRequest {
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("nettune-tiny-run-tests-\(getpid())").path
        return ProbeRequest(
            endpoint: Endpoint(host: "127.0.0.1", port: server.port),
            payload: try PayloadFile.cached(size: size, directory: FilePath(cache)), connectTimeout: .seconds(2),
            replyTimeout: .seconds(3), stallTimeout: .seconds(3), direction: direction, streams: streams)
    }

    /// No loopback moves a terabit per second.
    static let impossible = 1e12

    /// The last: `--parallel 128 --bidir`, whose result (256 stream reports) did not
    /// fit the protocol's frames.
    @Test(arguments: [
        (1 << 20, 64, ProbeDirection.send), (16 << 10, 1, .send), (16 << 10, 1, .receive), (64 << 10, 8, .both), (4 << 20, 128, .both)
    ])
    func aTinyRunsRatesArePossible(size: Int, streams: Int, direction: ProbeDirection) throws {
        // serve's own idle timeout: 256 connections, with both ends' threads in this
        // one process on two cores, took longer than the harness's 1 s to arrive.
        let server = try RunningServer(maxStreams: 128, idleTimeout: .seconds(10))
        defer { server.stop() }
        let run = try ProbeClient(try request(server, size: size, streams: streams, direction: direction)).run(.sendfile)
        for result in run.results {
            #expect(result.bytes == UInt64(size))
            #expect(result.throughputBitsPerSecond > 0 && result.throughputBitsPerSecond < Self.impossible, "\(result.direction)")
            for stream in result.streams {
                #expect(stream.throughputBitsPerSecond > 0 && stream.throughputBitsPerSecond < Self.impossible, "stream \(stream.index)")
            }
        }
    }
}
