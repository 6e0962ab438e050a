/// Where profiles are looked up, first match wins: `--profiles DIR` (in the order
/// given), `/etc/nettune/profiles`, then the shipped profiles.
public struct ProfileSearchPath: Equatable, Sendable {
    public enum Origin: String, Sendable, Equatable {
        case commandLine = "--profiles"
        case system = "system"
        case shipped = "shipped"
    }

    public struct Directory: Equatable, Sendable {
        public var path: String
        public var origin: Origin
        public init(_ path: String, _ origin: Origin) {
            self.path = path
            self.origin = origin
        }
    }

    public var directories: [Directory]

    public init(_ directories: [Directory]) {
        self.directories = directories
    }

    public static let systemDirectory = "/etc/nettune/profiles"

    /// The standard path for a binary at `executable`: installed profiles live in
    /// `<prefix>/share/nettune/profiles` beside `<prefix>/bin/nettune`; run from a
    /// checkout (`.build/…/nettune`), the repository's `profiles/` is used.
    public static func standard(extra: [String], executable: String?, system: String = systemDirectory) -> ProfileSearchPath {
        var directories = extra.map { Directory($0, .commandLine) }
        directories.append(Directory(system, .system))
        if let executable {
            for shipped in shippedDirectories(forExecutable: executable) {
                directories.append(Directory(shipped, .shipped))
            }
        }
        return ProfileSearchPath(directories)
    }

    static func shippedDirectories(forExecutable executable: String) -> [String] {
        var parts = executable.split(separator: "/").map(String.init)
        guard !parts.isEmpty else { return [] }
        parts.removeLast()
        var result: [String] = []
        let binDirectory = "/" + parts.joined(separator: "/")
        let prefix = binDirectory.hasSuffix("/bin") ? String(binDirectory.dropLast(4)) : binDirectory + "/.."
        let installed = (prefix.isEmpty ? "" : prefix) + "/share/nettune/profiles"
        if TextFile.exists(installed) || !TextFile.list(installed).isEmpty { result.append(installed) }
        // A checkout: walk up from .build/<triple>/<config>/ to the package root.
        var candidate = parts
        for _ in 0..<5 where !candidate.isEmpty {
            candidate.removeLast()
            let root = "/" + candidate.joined(separator: "/")
            if TextFile.exists(root + "/Package.swift"), !TextFile.list(root + "/profiles").isEmpty {
                result.append(root + "/profiles")
                break
            }
        }
        return result
    }
}
