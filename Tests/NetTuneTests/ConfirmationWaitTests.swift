import Glibc
import SystemPackage
import TerminalTesting
import Testing

@testable import NetTune

/// Enter is read from the terminal only while `try` is in its foreground: in a
/// background job the input is the shell's, and reading it stopped the process
/// (SIGTTIN) with the profile applied. The foreground case runs the real binary in
/// `TryIntegrationTests` (a test process cannot take a terminal as its own).
@Suite struct ConfirmationWaitTests {
    @Test func aTerminalThisProcessIsNotInTheForegroundOfIsLeftAlone() throws {
        let dir = try TemporaryDirectory()
        let marker = TryMarker(directory: FilePath(dir.path), namespace: 1)
        try marker.begin()
        defer { marker.end() }
        // The test runner's terminal, if any, is not this pseudo-terminal.
        let terminal = try PseudoTerminal()
        terminal.type("\n")

        let wait = ConfirmationWait(timeout: .milliseconds(300), marker: marker, terminal: terminal.slave)
        #expect(try wait.wait(interruption: nil) == .timedOut)
        var pending = pollfd(fd: terminal.slave, events: Int16(POLLIN), revents: 0)
        #expect(poll(&pending, 1, 0) == 1, "the Enter meant for the foreground is still there to read")
    }

    @Test func nettuneConfirmEndsTheWaitWithoutATerminal() throws {
        let dir = try TemporaryDirectory()
        let marker = TryMarker(directory: FilePath(dir.path), namespace: 1)
        try marker.begin()
        defer { marker.end() }
        _ = try marker.confirm()
        let wait = ConfirmationWait(timeout: .seconds(10), marker: marker, terminal: nil)
        #expect(try wait.wait(interruption: nil) == .confirmed(by: "nettune confirm"))
    }
}
