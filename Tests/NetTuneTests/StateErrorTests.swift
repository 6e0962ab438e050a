import SystemPackage
import Testing

@testable import NetTune
@testable import NetTuneCommands

/// A state directory nettune cannot write says what to do once, and the right
/// thing: sudo cannot help on a read-only file system (root got "run with sudo"
/// there, twice).
@Suite struct StateErrorTests {
    private func failure(_ errno: Errno) -> FileError {
        FileError(path: FilePath("/srv/state"), reason: .system(operation: "mkdir", errno: errno))
    }

    @Test func aReadOnlyFileSystemAsksForAnotherPlaceOnly() {
        let error = StateError(path: "/srv/state/netns-1.lock", doing: "cannot create the state directory", cause: failure(.readOnlyFileSystem))
        #expect(error.problem == .readOnly)
        #expect(
            "\(CommandHints.hinted(error))"
                == "/srv/state/netns-1.lock: cannot create the state directory: /srv/state: mkdir failed: Read-only file system; "
                + "the file system is read-only: keep the state elsewhere (--state-dir or NETTUNE_STATE_DIR)")
    }

    @Test func aPermissionProblemAsksForSudoOnce() {
        let error = StateError(path: "/srv/state/netns-1.json", doing: "cannot save the snapshot", cause: failure(.permissionDenied))
        #expect(error.problem == .permission)
        let text = "\(CommandHints.hinted(error))"
        #expect(text.hasSuffix("mkdir failed: Permission denied; run with sudo, or keep the state elsewhere (--state-dir or NETTUNE_STATE_DIR)"))
        #expect(text.components(separatedBy: "sudo").count == 2, "\(text)")
    }

    @Test func aFullFileSystemAsksForRoomOrAnotherPlace() {
        let error = StateError(path: "/srv/state/netns-1.json", doing: "cannot save the snapshot", cause: failure(.noSpace))
        #expect(error.problem == .full)
        #expect(
            "\(CommandHints.hinted(error))".hasSuffix(
                "No space left on device; the file system is full: make room there, or keep the state elsewhere (--state-dir or NETTUNE_STATE_DIR)"))
    }

    @Test func otherFailuresHaveNoRemedyToGuess() {
        let error = StateError(path: "/srv/state/netns-1.json", doing: "cannot save the snapshot", cause: failure(.ioError))
        #expect(error.problem == nil)
        #expect("\(CommandHints.hinted(error))" == "/srv/state/netns-1.json: cannot save the snapshot: /srv/state: mkdir failed: Input/output error")
    }

    @Test func aFileErrorOnItsOwnGivesItsRemedy() {
        #expect(
            "\(failure(.readOnlyFileSystem))"
                == "/srv/state: mkdir failed: Read-only file system (the file system is read-only: choose another place)")
        #expect("\(failure(.notPermitted))".hasSuffix("(run with sudo, or choose another place)"))
    }
}
