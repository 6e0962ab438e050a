import ArgumentParser
import NetTune

/// The library's errors say what failed and what to do without naming options;
/// here, where the options are known, the flag that does it is added.
enum CommandHints {
    static func hinted(_ error: any Error) -> any Error {
        guard let hint = hint(for: error) else { return error }
        return CommandError("\(error)\(hint)")
    }

    static func hint(for error: any Error) -> String? {
        switch error {
        case let error as ListenError:
            switch error.errno {
            case .addressInUse, .permissionDenied: return "; choose another with --port"
            case .addressNotAvailable: return "; check --bind"
            default: return nil
            }
        case let error as PlanError where error.kind == .noInterface:
            return " with --interface"
        case let error as ProbeRefusedError:
            switch error.refusal.status {
            case .unauthorized: return "; pass the server's secret with --token or NETTUNE_TOKEN"
            case .tooLarge: return "; ask for less with --size or --time"
            case .tooManyStreams: return "; use fewer with --parallel"
            case .busy: return "; wait longer with --queue-timeout, or try again later"
            default: return nil
            }
        case PayloadError.cacheFailed:
            return "; choose another place with --cache-dir"
        case let error as StateError where error.isPermissionProblem:
            return " (--state-dir or NETTUNE_STATE_DIR)"
        default:
            return nil
        }
    }
}

extension NetTuneCommand {
    /// `main()`, with the library's errors given their command-line hints.
    public static func runMain() -> Never {
        do {
            var command = try parseAsRoot()
            try command.run()
            exit()
        } catch let interrupted as Interrupted {
            // A signal a command did not catch itself (making a probe's payload, say):
            // nothing was changed yet, and the status is the shell's 128 + n.
            StandardError.print("\(interrupted)")
            exit(withError: ExitCode(interrupted.exitCode))
        } catch {
            exit(withError: CommandHints.hinted(error))
        }
    }
}
