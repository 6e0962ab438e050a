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
        case RecommendError.exists: return ", or pass --force to replace it"
        case RecommendError.wouldShadow: return ", or pass --force"
        case PayloadError.cacheFailed:
            return "; choose another place with --cache-dir"
        case let error as StateError where error.problem != nil:
            return " (--state-dir or NETTUNE_STATE_DIR)"
        default:
            return nil
        }
    }
}

extension NetTuneCommand {
    /// `main()`, with the library's errors given their command-line hints.
    public static func runMain() -> Never {
        var command: any ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            exit(withError: error)
        }
        do {
            try command.run()
            // A result cut short (a full disk) is a failure, not exit 0.
            if let failure = StandardStreams.flushOutput() {
                StandardError.print("Error: \(failure)")
                exit(withError: ExitCode.failure)
            }
            exit()
        } catch let failure as WordedFailure {
            StandardError.print(failure.line)
            reportAsJSON(failure.message, exitStatus: failure.exitStatus, of: command)
            exit(withError: ExitCode(failure.exitStatus))
        } catch let interrupted as Interrupted {
            // A signal a command did not catch itself (making a probe's payload, say):
            // nothing was changed yet, and the status is the shell's 128 + n.
            StandardError.print("\(interrupted)")
            reportAsJSON("\(interrupted)", exitStatus: interrupted.exitCode, of: command)
            exit(withError: ExitCode(interrupted.exitCode))
        } catch {
            let hinted = CommandHints.hinted(error)
            if !(hinted is ExitCode) {
                reportAsJSON(message(for: hinted), exitStatus: exitCode(for: hinted).rawValue, of: command)
            }
            exit(withError: hinted)
        }
    }

    /// With --json the failure is on stdout as JSON as well (see `JSONFailure`).
    private static func reportAsJSON(_ message: String, exitStatus: Int32, of command: any ParsableCommand) {
        guard let style = (command as? any JSONResultCommand)?.jsonStyle,
            let text = JSONFailure.text(for: message, exitStatus: exitStatus, style: style)
        else { return }
        print(text)
    }
}
