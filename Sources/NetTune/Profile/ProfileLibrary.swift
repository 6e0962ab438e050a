/// Finds, loads and resolves profiles on a search path.
public struct ProfileLibrary: Sendable {
    public let searchPath: ProfileSearchPath

    public init(searchPath: ProfileSearchPath) {
        self.searchPath = searchPath
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

    /// Every `*.toml` on the search path, in search order.
    public func entries() -> [Entry] {
        var seen: Set<String> = []
        var result: [Entry] = []
        for directory in searchPath.directories {
            for file in TextFile.list(directory.path) where file.hasSuffix(".toml") {
                let name = String(file.dropLast(5))
                guard ProfileReference.isPlainName(name) else { continue }
                let path = directory.path + "/" + file
                let summary: Result<String, ProfileError>
                do { summary = .success(try load(path: path, name: name).description) } catch { summary = .failure(error) }
                result.append(Entry(name: name, path: path, origin: directory.origin, summary: summary,
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
        let known = Set(entries().filter { !$0.shadowed }.map(\.name)).sorted()
        throw ProfileError(.notFound, file: name, message: "no profile named '\(name)'",
                           fix: "searched " + searchPath.directories.map(\.path).joined(separator: ", ")
                               + (known.isEmpty ? "" : "; known profiles: " + known.joined(separator: ", ")))
    }

    /// One file, includes not merged.
    public func load(path: String, name: String? = nil) throws(ProfileError) -> Profile {
        let text: String
        do {
            text = try TextFile.read(path)
        } catch {
            throw ProfileError(error == .noSuchFileOrDirectory ? .notFound : .unreadable, file: path,
                               message: "cannot read the profile: \(error)")
        }
        let profileName = name ?? Self.name(forPath: path)
        return try ProfileParser.parse(text, name: profileName, path: path)
    }

    /// The fully resolved profile for a command-line argument (a name or a path).
    public func resolve(_ argument: String) throws(ProfileError) -> Profile {
        let path: String
        switch try ProfileReference(argument) {
        case .name(let name): path = try locate(name)
        case .file(let file): path = file
        }
        return try resolve(try load(path: path), chain: [path], names: [Self.name(forPath: path)])
    }

    /// Merges includes depth-first: each include in order, later ones winning, and
    /// the including file winning over all of them.
    private func resolve(_ profile: Profile, chain: [String], names: [String]) throws(ProfileError) -> Profile {
        var merged = Profile(name: profile.name, version: profile.version, description: profile.description,
                             includes: profile.includes, path: profile.path)
        for include in profile.includes {
            let path = try locate(include)
            if chain.contains(path) {
                throw ProfileError(.includeCycle, file: profile.path, key: "include",
                                   message: "include cycle: " + (names + [include]).joined(separator: " → "),
                                   fix: "remove one of these includes")
            }
            let child = try resolve(try load(path: path, name: include), chain: chain + [path], names: names + [include])
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
