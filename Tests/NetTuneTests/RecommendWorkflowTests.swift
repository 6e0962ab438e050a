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

/// `recommend --write NAME`, checked before anything is measured.
@Suite struct RecommendWriteTests {
    typealias Workflow = RecommendWorkflow<FakeSysctlStore, FakeLinkController>

    func library(_ root: TemporaryDirectory) -> ProfileLibrary {
        ProfileLibrary(
            searchPath: ProfileSearchPath([.init(root.path + "/etc", .system), .init(root.path + "/shipped", .shipped)]))
    }

    /// Written as kernel-default, it included itself, and so did every profile
    /// including kernel-default (the shipped ones stopped resolving).
    @Test func neverAsTheProfileItIncludes() throws {
        let root = try TemporaryDirectory()
        #expect(throws: RecommendError.includesItself("kernel-default")) {
            try Workflow.checkWritable(name: Recommendation.base, into: FilePath(root.path + "/etc"), library: library(root), replace: true)
        }
    }

    @Test func notOverAFileNorBesideAProfileOfTheSameNameUnlessReplacing() throws {
        let root = try TemporaryDirectory()
        try root.write("etc/mine.toml", "version = 1\n")
        try root.write("shipped/pi-lan.toml", "version = 1\n")
        let etc = FilePath(root.path + "/etc")
        #expect(throws: RecommendError.exists(etc.appending("mine.toml"))) {
            try Workflow.checkWritable(name: "mine", into: etc, library: library(root), replace: false)
        }
        #expect(throws: RecommendError.wouldShadow(name: "pi-lan", other: root.path + "/shipped/pi-lan.toml")) {
            try Workflow.checkWritable(name: "pi-lan", into: etc, library: library(root), replace: false)
        }
        // A directory off the path (`apply NAME --profiles DIR` puts it first) shadows too.
        #expect(throws: RecommendError.wouldShadow(name: "pi-lan", other: root.path + "/shipped/pi-lan.toml")) {
            try Workflow.checkWritable(name: "pi-lan", into: FilePath(root.path + "/elsewhere"), library: library(root), replace: false)
        }
        try Workflow.checkWritable(name: "pi-lan", into: etc, library: library(root), replace: true)
        try Workflow.checkWritable(name: "mine", into: etc, library: library(root), replace: true)
        try Workflow.checkWritable(name: "new", into: etc, library: library(root), replace: false)
    }
}
