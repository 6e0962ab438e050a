/// Finds, loads and resolves profiles on a search path.
public struct ProfileLibrary: Sendable {
    public let searchPath: ProfileSearchPath
    /// Whose profile files are used (see `FileTrust`); nil: anyone's.
    public let trust: FileTrust?

    public init(searchPath: ProfileSearchPath, trust: FileTrust? = .forThisProcess()) {
        self.searchPath = searchPath
        self.trust = trust
    }

    /// One profile found on the search path.
    public struct Entry: Equatable, Sendable {
        public var name: String
        public var path: String
        public var origin: ProfileSearchPath.Origin
        /// The description, or why the file cannot be used.
        public var summary: Result<String, ProfileError>
        /// Another file with the same name earlier on the path wins over this one.
        public var shadowed: Bool
    }

    /// Every `*.toml` on the search path, in search order. A file counts as usable
    /// only if it resolves: its includes exist and form no cycle.
    public func entries() -> [Entry] {
        var seen: Set<String> = []
        var result: [Entry] = []
        for directory in searchPath.directories {
            for file in TextFile.list(directory.path) where file.hasSuffix(".toml") {
                let name = String(file.dropLast(5))
                guard ProfileReference.isPlainName(name) else { continue }
                let path = directory.path + "/" + file
                let summary: Result<String, ProfileError>
                do {
                    let profile = try load(path: path, name: name)
                    _ = try resolve(profile, path: path)
                    summary = .success(profile.description)
                } catch {
                    summary = .failure(error)
                }
                result.append(
                    Entry(
                        name: name, path: path, origin: directory.origin, summary: summary,
                        shadowed: seen.contains(name)))
                seen.insert(name)
            }
        }
        return result
    }

    /// The file a name stands for: the first `NAME.toml` on the search path.
    public func locate(_ name: String) throws(ProfileError) -> String {
        for directory in searchPath.directories {
            let path = directory.path + "/" + name + ".toml"
            if TextFile.exists(path) { return path }
        }
        // Names only: resolving here could come back to this very lookup.
        let known = Set(
            searchPath.directories.flatMap { TextFile.list($0.path) }
                .filter { $0.hasSuffix(".toml") }.map { String($0.dropLast(5)) }.filter(ProfileReference.isPlainName)
        ).sorted()
        throw ProfileError(
            .notFound, file: name, message: "no profile named '\(name)'",
            fix: "searched " + searchPath.directories.map(\.path).joined(separator: ", ")
                + (known.isEmpty ? "" : "; known profiles: " + known.joined(separator: ", ")))
    }

    /// Profiles are small; anything larger is not one.
    static let fileLimit = 256 << 10
    /// Deeper include chains than this are refused: real profiles use one or two levels.
    public static let maxIncludeDepth = 32

    /// One file, includes not merged.
    public func load(path: String, name: String? = nil) throws(ProfileError) -> Profile {
        let text: String
        do {
            text = try TextFile.read(path, limit: Self.fileLimit, trust: trust)
        } catch {
            if case .untrusted(let problem) = error.reason {
                throw ProfileError(
                    .untrusted, file: path, message: "not used: \(problem)", fix: problem.fix(for: path))
            }
            throw ProfileError(
                error.errno == .noSuchFileOrDirectory ? .notFound : .unreadable, file: path,
                message: "cannot read the profile: \(Self.reason(error))")
        }
        let profileName = name ?? Self.name(forPath: path)
        return try ProfileParser.parse(text, name: profileName, path: path)
    }

    private static func reason(_ error: FileError) -> String {
        switch error.reason {
        case .notRegular: return "not a regular file"
        case .tooLarge(let limit): return "larger than \(ByteCount(limit)), more than any profile"
        case .system(_, let errno): return "\(errno)"
        case .emptyPath: return "empty path"
        case .untrusted(let problem): return "\(problem)"
        }
    }

    /// The fully resolved profile for a command-line argument (a name or a path).
    public func resolve(_ argument: String) throws(ProfileError) -> Profile {
        let path: String
        switch try ProfileReference(argument) {
        case .name(let name): path = try locate(name)
        case .file(let file): path = file
        }
        return try resolve(try load(path: path), path: path)
    }

    private func resolve(_ profile: Profile, path: String) throws(ProfileError) -> Profile {
        var resolved: [String: Profile] = [:]
        return try resolve(profile, chain: [path], names: [profile.name], resolved: &resolved)
    }

    /// Merges includes depth-first: each include in order, later ones winning, and
    /// the including file winning over all of them. A file included more than once
    /// is read and resolved once (`resolved`), so shared includes cost nothing.
    private func resolve(
        _ profile: Profile, chain: [String], names: [String],
        resolved: inout [String: Profile]
    ) throws(ProfileError) -> Profile {
        var merged = Profile(
            name: profile.name, version: profile.version, description: profile.description,
            includes: profile.includes, path: profile.path)
        for include in profile.includes {
            let path = try locate(include)
            if let start = chain.firstIndex(of: path) {
                throw ProfileError(
                    .includeCycle, file: profile.path, key: "include",
                    message: "include cycle: " + (names[start...] + [include]).joined(separator: " → "),
                    fix: "remove one of these includes")
            }
            guard chain.count < Self.maxIncludeDepth else {
                throw ProfileError(
                    .includeTooDeep, file: profile.path, key: "include",
                    message: "includes nest deeper than \(Self.maxIncludeDepth) levels",
                    fix: "include the profiles you need directly")
            }
            let child: Profile
            if let done = resolved[path] {
                child = done
            } else {
                child = try resolve(
                    try load(path: path, name: include), chain: chain + [path], names: names + [include],
                    resolved: &resolved)
                resolved[path] = child
            }
            merged.absorb(child, origin: nil)
        }
        merged.absorb(profile, origin: profile.name)
        return merged
    }

    static func name(forPath path: String) -> String {
        let file = path.split(separator: "/").last.map(String.init) ?? path
        return file.hasSuffix(".toml") ? String(file.dropLast(5)) : file
    }
}

extension Profile {
    /// Takes `other`'s values over the current ones. `origin` nil keeps the origins
    /// recorded in `other` (a resolved include); otherwise values are attributed to it.
    mutating func absorb(_ other: Profile, origin: String?) {
        for (key, value) in other.sysctls {
            sysctls[key] = value
            origins[key.name] = origin ?? other.origins[key.name] ?? other.name
        }
        if let mtu = other.link.mtu {
            link.mtu = mtu
            origins["mtu"] = origin ?? other.origins["mtu"] ?? other.name
        }
        if let interface = other.link.interface { link.interface = interface }
    }
}
