import Foundation
import Glibc
import NetTune
import Testing

/// Peers that stop reading, stop answering, or trickle: every such wait ends at
/// its deadline, a signal ends it at once, and a profile under test is taken back.
@Suite(.enabled(if: TestEnvironment.isRoot, TestEnvironment.rootReason))
struct StallIntegrationTests {
    /// A "server" on loopback that answers the probe's request, accepts its data
    /// connection, gives the start signal, and then never reads.
    final class SilentSink: @unchecked Sendable {
        let listener: TCPListener
        private var kept: [TCPConnection] = []
        private let lock = NSLock()

        init() throws {
            listener = try TCPListener(host: "127.0.0.1", port: 0)
            let thread = Thread { [self] in
                guard let client = try? listener.accept(deadline: .after(.seconds(30))) else { return }
                _ = try? client.receiveSome(limit: 4096, deadline: .after(.seconds(5)))
                let session = SessionID.random()
                try? client.sendAll(ProbeMessage.ready(session: session, streams: 1, tuning: TuningState()).encoded(), deadline: .after(.seconds(5)))
                guard let data = try? listener.accept(deadline: .after(.seconds(10))) else { return }
                _ = try? data.receiveSome(limit: 64, deadline: .after(.seconds(5)))
                try? client.sendAll(ProbeMessage.go.encoded(), deadline: .after(.seconds(5)))
                lock.withLock { kept += [client, data] }
            }
            thread.start()
        }

        var endpoint: String { "127.0.0.1:\(listener.port)" }
    }

    @Test func aProbeToAPeerThatStopsReadingEndsAtTheStallTimeout() throws {
        try Scratch.with { scratch in
            let sink = try SilentSink()
            let started = Date()
            let result = try Command.run(
                [
                    TestEnvironment.binary, "probe", sink.endpoint, "--size", "64MiB", "--warmup", "0",
                    "--runs", "1", "--stall-timeout", "2s", "--cache-dir", scratch.path
                ],
                environment: TestEnvironment.isolatedEnvironment)
            #expect(result.status == 1, "\(result.stderr)")
            #expect(result.stderr.contains("the peer stopped taking data: nothing moved for 2 s"), "\(result.stderr)")
            #expect(Date().timeIntervalSince(started) < 10)
        }
    }

    @Test func ctrlCEndsAProbeStuckOnAPeerThatStopsReading() throws {
        try Scratch.with { scratch in
            let sink = try SilentSink()
            let probing = try Command.start([
                TestEnvironment.binary, "probe", sink.endpoint, "--size", "64MiB", "--warmup", "0",
                "--runs", "1", "--stall-timeout", "600s", "--cache-dir", scratch.path
            ])
            // Once the sender has filled every buffer it is blocked: interrupt it then.
            Thread.sleep(forTimeInterval: 1)
            let interrupted = Date()
            probing.interrupt()
            let result = try probing.wait()
            #expect(Date().timeIntervalSince(interrupted) < 2)
            #expect(result.status == 130, "\(result.stderr)")
            #expect(result.stderr.contains("interrupted (SIGINT)"), "\(result.stderr)")
        }
    }

    /// Making a large payload takes a while on a slow card: Ctrl-C ends it at once,
    /// with the shell's status, and leaves no half-made file behind.
    @Test func ctrlCEndsTheMakingOfAProbesPayload() throws {
        try Scratch.with { scratch in
            let cache = scratch.path + "/cache"
            // The peer is never reached: the payload is made first.
            let probing = try Command.start([
                TestEnvironment.binary, "probe", "127.0.0.1:9", "--size", "4GiB", "--warmup", "0", "--runs", "1", "--cache-dir", cache
            ])
            let begun = Date(timeIntervalSinceNow: 30)
            while Date() < begun, (try? FileManager.default.contentsOfDirectory(atPath: cache))?.isEmpty != false {
                Thread.sleep(forTimeInterval: 0.01)
            }
            let interrupted = Date()
            probing.interrupt()
            let result = try probing.wait()
            #expect(Date().timeIntervalSince(interrupted) < 2, "4 GiB to make (seconds here): only the signal ends it")
            #expect(result.status == 130, "\(result.stderr)")
            #expect(result.stderr.contains("interrupted (SIGINT)"), "\(result.stderr)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: cache).isEmpty)
        }
    }

    /// The A/B test's B run against a server that stops (SIGSTOP): it ends at the
    /// stall timeout with A back in place, not hanging with B applied.
    @Test(arguments: [false, true])
    func aServerThatStopsDuringTheBRunLeavesA(interrupt: Bool) throws {
        try Scratch.with { scratch in
            try scratch.write("raise.toml", CompareIntegrationTests.raiseBuffers)
            try Lab.with { lab in
                let before = try lab.sysctl(in: lab.nsA, "net/ipv4/tcp_wmem")
                _ = try lab.withServer { server in
                    let comparing = try Command.start([
                        "ip", "netns", "exec", lab.nsA, TestEnvironment.binary, "apply", "raise",
                        "--probe", "\(lab.addrB):9000", "--pairs", "3", "--time", "3s",
                        "--warmup", "0", "--stall-timeout", "2s", "--profiles", scratch.path,
                        "--cache-dir", scratch.path, "--state-dir", scratch.path + "/state"
                    ])
                    var sawB = false
                    for _ in 0..<500 where !sawB {
                        sawB = (try? lab.sysctl(in: lab.nsA, "net/ipv4/tcp_wmem")) == "4096 1048576 16777216"
                        Thread.sleep(forTimeInterval: 0.02)
                    }
                    #expect(sawB)
                    // Let the B run's transfer get going, then stop the server.
                    Thread.sleep(forTimeInterval: 0.5)
                    server.signal(SIGSTOP)
                    let stopped = Date()
                    if interrupt {
                        Thread.sleep(forTimeInterval: 0.3)
                        comparing.interrupt()
                    }
                    let result = try comparing.wait()
                    #expect(Date().timeIntervalSince(stopped) < (interrupt ? 2 : 8))
                    #expect(result.status == (interrupt ? 130 : 1), "\(result.stderr)")
                    #expect(result.stderr.contains("the original values (A) are in place"), "\(result.stderr)")
                    server.signal(SIGCONT)
                }
                #expect(try lab.sysctl(in: lab.nsA, "net/ipv4/tcp_wmem") == before)
                #expect(scratch.stateFiles(in: "state").isEmpty)
            }
        }
    }

    /// A client that sends its header a byte at a time, or its payload a byte at a
    /// time, is dropped at the header timeout or the probe's time limit; the server
    /// goes on serving.
    @Test func aTricklingClientCannotHoldTheServer() throws {
        try Scratch.with { scratch in
            let server = try Command.start([
                TestEnvironment.binary, "serve", "--bind", "127.0.0.1", "--port", "0",
                "--idle-timeout", "2s", "--max-duration", "3s", "--json"
            ])
            defer {
                server.terminate()
                _ = try? server.wait()
            }
            var port: UInt16?
            for _ in 0..<100 where port == nil {
                if let range = server.stderrSoFar.range(of: "127.0.0.1:") {
                    port = UInt16(server.stderrSoFar[range.upperBound...].prefix { $0.isNumber })
                }
                if port == nil { Thread.sleep(forTimeInterval: 0.05) }
            }
            let endpoint = Endpoint(host: "127.0.0.1", port: try #require(port))

            // 1. The request, one byte a second.
            let request = ProbeMessage.request(
                ProbeRequestMessage(
                    direction: .send, method: .sendfile, streams: 1, length: 1 << 20,
                    duration: nil, queueWait: .zero, token: [], software: "test")
            ).encoded()
            let started = Date()
            let dripping = try TCPConnection.connect(to: endpoint, deadline: .after(.seconds(5)))
            var dropped = false
            for byte in request {
                if (try? dripping.sendAll([byte], deadline: .after(.seconds(1)))) == nil {
                    dropped = true
                    break
                }
                if let answer = try? dripping.receiveSome(limit: 1, deadline: .after(.seconds(1))), answer.isEmpty {
                    dropped = true
                    break
                }
            }
            #expect(dropped)
            #expect(Date().timeIntervalSince(started) < 9)

            // 2. A timed probe's payload, one byte at a time, each just inside the idle timeout.
            let timed = ProbeMessage.request(
                ProbeRequestMessage(
                    direction: .send, method: .sendfile, streams: 1, length: nil,
                    duration: .seconds(2), queueWait: .zero, token: [], software: "test")
            ).encoded()
            let control = try TCPConnection.connect(to: endpoint, deadline: .after(.seconds(5)))
            try control.sendAll(timed, deadline: .after(.seconds(5)))
            let readyBytes = try control.receiveSome(limit: 1024, deadline: .after(.seconds(5)))
            guard case .ready(let session, _, _)? = try ProbeMessage.decode(readyBytes)?.message else {
                Issue.record("no ready: \(readyBytes)")
                return
            }
            let data = try TCPConnection.connect(to: endpoint, deadline: .after(.seconds(5)))
            try data.sendAll(ProbeMessage.data(session: session, stream: 0).encoded(), deadline: .after(.seconds(5)))
            let goBytes = try control.receiveSome(limit: 1024, deadline: .after(.seconds(5)))
            #expect(try ProbeMessage.decode(goBytes)?.message == .go)
            let dataStarted = Date()
            var cut = false
            while Date().timeIntervalSince(dataStarted) < 15 && !cut {
                if (try? data.sendAll([0], deadline: .after(.seconds(1)))) == nil { cut = true }
                if let answer = try? control.receiveSome(limit: 1024, deadline: .after(.seconds(1))) {
                    cut = true
                    guard case .result(let result)? = try ProbeMessage.decode(answer)?.message else {
                        Issue.record("not a result: \(answer)")
                        break
                    }
                    #expect(!result.ok)
                    #expect(result.message.contains("too slow"), "\(result.message)")
                }
            }
            #expect(cut)
            #expect(Date().timeIntervalSince(dataStarted) < 9)

            // 3. A real probe still gets through.
            let probe = try Command.run(
                [
                    TestEnvironment.binary, "probe", endpoint.description, "--size", "4MiB", "--warmup", "0",
                    "--runs", "1", "--cache-dir", scratch.path
                ], environment: TestEnvironment.isolatedEnvironment)
            #expect(probe.status == 0, "\(probe.stderr)")
        }
    }
}
