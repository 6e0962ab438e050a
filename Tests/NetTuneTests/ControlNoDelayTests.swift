import Glibc
import Testing

@testable import NetTune

/// Control connections send without Nagle's algorithm: their small messages go
/// out back to back (TEST_START and TEST_RUNNING, results and DISPLAY_RESULTS),
/// and with Nagle each waited for the peer's delayed acknowledgement of the one
/// before (up to 40 ms).
@Suite struct ControlNoDelayTests {
    init() { SignalMask.ignoreBrokenPipe() }

    static func noDelay(_ connection: TCPConnection) -> Int32? {
        connection.intOption(Int32(IPPROTO_TCP), TCP_NODELAY)
    }

    @Test func aNewConnectionUsesNagleUntilToldOtherwise() throws {
        let (near, _) = try #require(try StreamPumpTests.pairs(1).first)
        #expect(Self.noDelay(near) == 0)
        #expect(near.setNoDelay())
        #expect(Self.noDelay(near) == 1)
    }

    @Test func anIperfControlConnectionSendsAtOnceOnBothEnds() throws {
        let (near, far) = try #require(try StreamPumpTests.pairs(1).first)
        _ = IperfControl(connection: near, peer: "client")
        _ = IperfControl(connection: far, peer: "server", buffered: [1])
        #expect(Self.noDelay(near) == 1)
        #expect(Self.noDelay(far) == 1)
    }
}
