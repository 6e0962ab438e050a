import Foundation

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

    static let rootReason: Comment = "needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN) to create network namespaces; CI runs as root"
}

import Testing
