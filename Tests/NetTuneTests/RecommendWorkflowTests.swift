import SystemPackage
import Testing

@testable import NetTune

/// `recommend` in the direction it was asked to measure: each direction sized from
/// its own runs and their TCP_INFO, and a direction with no round-trip time (an
/// iperf3 server sends without its TCP_INFO) named as the reason nothing is sized.
@Suite struct RecommendWorkflowTests {
    func recommend(_ f: WorkflowFixture, direction: ProbeDirection, from end: ProbeEnd = .peer) throws -> Recommendation {
        f.transport.direction = direction
        f.transport.tcpInfo = DiagnosisTests.Fixture().run.tcpInfo  // min RTT 50 µs
        f.transport.tcpInfoFrom = end
        let runner = ProbeRunner(
            transport: f.transport, machine: f.machine, payload: PayloadFile(path: "/p", size: 64 << 20),
            methods: [.sendfile], runs: 3, warmupBytes: 0)
        let meminfo = FilePath(f.state.path + "/meminfo")
        try f.state.write("meminfo", "MemTotal: 1048576 kB\n")
        return try RecommendWorkflow(runner: runner, meminfo: meminfo).run(name: "measured").recommendation
    }

    @Test(arguments: [(ProbeDirection.send, [ProbeDirection.send]), (.receive, [.receive]), (.both, [.send, .receive])])
    func eachDirectionAskedForIsMeasuredAndSized(direction: ProbeDirection, measured: [ProbeDirection]) throws {
        let f = try WorkflowFixture()
        let r = try recommend(f, direction: direction)
        #expect(r.measured.map(\.direction) == measured)
        #expect(r.measured.allSatisfy { $0.minRTTSeconds == 50e-6 }, "\(r.measured)")
        #expect(Set(f.transport.directions) == [direction])
    }

    @Test func receivingFromAnIperf3ServerSaysWhyNothingCanBeSized() throws {
        let f = try WorkflowFixture()
        #expect(throws: RecommendError.noRoundTripFromIperf3) { try recommend(f, direction: .receive, from: .unavailable) }
        // Both ways, the direction this machine measured itself is still sized.
        let both = try recommend(try WorkflowFixture(), direction: .both, from: .unavailable)
        #expect(both.measured.map(\.direction) == [.send])
        #expect(
            both.reasons.last == "Receiving was measured but not sized from: the iperf3 server reports no TCP_INFO, so it gave no round-trip time.")
    }

    @Test func runsWithoutARoundTripTimeAreNotUsable() throws {
        let f = try WorkflowFixture()
        f.transport.direction = .send
        let runner = ProbeRunner(
            transport: f.transport, machine: f.machine, payload: PayloadFile(path: "/p", size: 64 << 20),
            methods: [.sendfile], runs: 1, warmupBytes: 0)
        #expect(throws: RecommendError.noUsableRuns) { try RecommendWorkflow(runner: runner).run(name: "x") }
    }
}
