import ArgumentParser
import Foundation
import NetTune

/// What the shell completes, computed when the user presses Tab.
enum Completions {
    /// Profile names from the standard search path (and `--profiles DIR` when it
    /// is already on the command line), plus .toml files.
    static let profiles = CompletionKind.custom { words, _, prefix in
        var extra: [String] = []
        for (index, word) in words.enumerated() where word == "--profiles" && index + 1 < words.count { extra.append(words[index + 1]) }
        let path = ProfileSearchPath.standard(extra: extra, executable: ExecutablePath.current())
        let names = Set(ProfileLibrary(searchPath: path).entries().map(\.name))
        return names.sorted().filter { $0.hasPrefix(prefix) }
    }

    /// The interfaces of this network namespace.
    static let interfaces = CompletionKind.custom { _, _, prefix in
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/class/net")) ?? []
        return names.sorted().filter { $0.hasPrefix(prefix) }
    }
}
