import Foundation
import Glibc
import TerminalTesting

/// The result of running a program to completion.
struct CommandResult {
    var status: Int32
    var stdout: String
    var stderr: String

    var succeeded: Bool { status == 0 }
}

enum Command {
    /// Runs `arguments[0]` (looked up in PATH) with the rest as arguments, capturing
    /// both streams through temporary files so neither can fill a pipe and stall.
    static func run(_ arguments: [String], environment: [String: String]? = nil) throws -> CommandResult {
        let directory = FileManager.default.temporaryDirectory
        let outURL = directory.appendingPathComponent("nettune-out-\(UUID().uuidString)")
        let errURL = directory.appendingPathComponent("nettune-err-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        defer {
            try? FileManager.default.removeItem(at: outURL)
            try? FileManager.default.removeItem(at: errURL)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        if let environment {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let out = try FileHandle(forWritingTo: outURL)
        let err = try FileHandle(forWritingTo: errURL)
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try out.close()
        try err.close()
        return CommandResult(
            status: process.terminationStatus,
            stdout: try String(contentsOf: outURL, encoding: .utf8),
            stderr: try String(contentsOf: errURL, encoding: .utf8)
        )
    }

    /// Starts a program without waiting for it; its output goes to temporary files
    /// (stderr to `standardError` instead when given).
    static func start(_ arguments: [String], standardError: FileHandle? = nil) throws -> RunningCommand {
        try RunningCommand(arguments, standardError: standardError)
    }

    /// Starts a program on `terminal`: all three standard streams.
    static func start(_ arguments: [String], terminal: PseudoTerminal) throws -> RunningCommand {
        try RunningCommand(arguments, standardError: terminal.handle, standardOutput: terminal.handle, standardInput: terminal.handle)
    }

    /// Runs and fails the test with the command's stderr when it exits non-zero.
    @discardableResult
    static func check(_ arguments: [String]) throws -> String {
        let result = try run(arguments)
        guard result.succeeded else {
            throw CommandFailure(arguments: arguments, result: result)
        }
        return result.stdout
    }
}

struct CommandFailure: Error, CustomStringConvertible {
    var arguments: [String]
    var result: CommandResult
    var description: String {
        "\(arguments.joined(separator: " ")) exited \(result.status): \(result.stderr)"
    }
}

/// A program started in the background.
final class RunningCommand {
    private let process = Process()
    private let outURL: URL
    private let errURL: URL

    init(
        _ arguments: [String], standardError: FileHandle? = nil, standardOutput: FileHandle? = nil,
        standardInput: FileHandle? = nil
    ) throws {
        let directory = FileManager.default.temporaryDirectory
        outURL = directory.appendingPathComponent("nettune-out-\(UUID().uuidString)")
        errURL = directory.appendingPathComponent("nettune-err-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.standardOutput = try standardOutput ?? FileHandle(forWritingTo: outURL)
        process.standardError = try standardError ?? FileHandle(forWritingTo: errURL)
        process.standardInput = standardInput ?? FileHandle.nullDevice
        try process.run()
    }

    /// SIGTERM.
    func terminate() { process.terminate() }

    /// SIGINT, as Ctrl-C sends.
    func interrupt() { process.interrupt() }

    /// SIGKILL, to this process only (it is the nettune process: env and
    /// `ip netns exec` both exec).
    func kill() { _ = Glibc.kill(process.processIdentifier, SIGKILL) }

    /// The process's id (the nettune process itself when every launcher before it execs).
    var pid: Int32 { process.processIdentifier }

    /// Sends any signal: SIGSTOP makes a peer that stops reading, SIGCONT ends that.
    func signal(_ number: Int32) { _ = Glibc.kill(process.processIdentifier, number) }

    var hasExited: Bool { !process.isRunning }

    /// What it has written to stdout so far.
    var stdoutSoFar: String { (try? String(contentsOf: outURL, encoding: .utf8)) ?? "" }

    /// What it has written to stderr so far.
    var stderrSoFar: String { (try? String(contentsOf: errURL, encoding: .utf8)) ?? "" }

    func wait() throws -> CommandResult {
        process.waitUntilExit()
        defer {
            try? FileManager.default.removeItem(at: outURL)
            try? FileManager.default.removeItem(at: errURL)
        }
        return CommandResult(
            status: process.terminationStatus,
            stdout: try String(contentsOf: outURL, encoding: .utf8),
            stderr: try String(contentsOf: errURL, encoding: .utf8))
    }

    deinit {
        if process.isRunning { process.terminate() }
    }
}
