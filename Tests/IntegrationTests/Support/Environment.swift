import Foundation
import Testing

/// Facts the integration tests depend on, computed once.
enum TestEnvironment {
    static let isRoot = geteuid() == 0

    /// The package's top directory (this file is Tests/IntegrationTests/Support/Environment.swift).
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static var labScript: String { packageRoot.appendingPathComponent("lab/nslab").path }

    /// The `nettune` built beside this test bundle, or `$NETTUNE_BIN`.
    static let binary: String = {
        if let explicit = ProcessInfo.processInfo.environment["NETTUNE_BIN"] { return explicit }
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return executable.deletingLastPathComponent().appendingPathComponent("nettune").path
    }()

    /// The `nettune-delayline` built beside `nettune`, which lab/nslab runs for `--delay`.
    static var delayLine: String {
        URL(fileURLWithPath: binary).deletingLastPathComponent().appendingPathComponent("nettune-delayline").path
    }

    /// What lab/nslab is run with: the delay line of this build, never another.
    static var labEnvironment: [String: String] { ["NSLAB_DELAYLINE": delayLine] }

    /// Where nettune keeps per-user state and caches during the tests, so they never
    /// add to the history or cache of whoever runs them. Removed when the test process
    /// exits: the payload cache in it holds a few hundred MiB per run.
    static let userStateDirectory: String = {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("nettune-test-state-\(getpid())").path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: TestEnvironment.userStateDirectory) }
        return path
    }()

    static var isolatedEnvironment: [String: String] {
        ["XDG_STATE_HOME": userStateDirectory + "/state", "XDG_CACHE_HOME": userStateDirectory + "/cache"]
    }

    static let rootReason: Comment = "needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN) to create network namespaces; CI runs as root"
}
