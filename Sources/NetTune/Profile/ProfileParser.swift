/// Turns one profile file's TOML into a `Profile`, refusing anything it does not
/// understand: unknown keys, keys outside `net.`, malformed triples, impossible
/// MTUs, a newer format version. Every error names the file, the line and the key.
public enum ProfileParser {
    static let topLevelKeys: Set<String> = ["version", "description", "include", "sysctl", "link"]
    static let linkKeys: Set<String> = ["mtu", "interface"]
    /// Sysctls whose values are `min default max` triples (`tcp_mem` in pages).
    static let tripleKeys: Set<SysctlKey> = [.tcpWmem, .tcpRmem, .tcpMem]

    public static func parse(_ text: String, name: String, path: String) throws(ProfileError) -> Profile {
        let table: ProfileTOML.Table
        do {
            table = try ProfileTOML.parse(text)
        } catch {
            throw ProfileError(.syntax, file: path, line: error.line, message: "invalid TOML: \(error.message)")
        }
        func fail(_ kind: ProfileError.Kind, key: String? = nil, line: Int?, _ message: String, fix: String? = nil) -> ProfileError {
            ProfileError(kind, file: path, line: line, key: key, message: message, fix: fix)
        }

        for entry in table.entries where !topLevelKeys.contains(entry.key) {
            throw fail(
                .unknownKey, key: entry.key, line: entry.line, "unknown key",
                fix: "a profile has version, description, include, [sysctl] and [link]")
        }

        guard let versionValue = table["version"] else {
            throw fail(
                .badVersion, key: "version", line: 1, "missing format version",
                fix: "add `version = \(Profile.supportedVersion)` at the top")
        }
        let versionLine = table.line(of: "version")
        guard let version = versionValue.integer, version >= 1 else {
            throw fail(
                .badVersion, key: "version", line: versionLine, "must be a positive integer", fix: "write `version = \(Profile.supportedVersion)`")
        }
        guard version <= Profile.supportedVersion else {
            throw fail(
                .badVersion, key: "version", line: versionLine,
                "format version \(version) is newer than this nettune understands (\(Profile.supportedVersion))",
                fix: "upgrade nettune, or write the profile in format \(Profile.supportedVersion)")
        }

        guard let description = table["description"]?.string, !description.trimmingWhitespace().isEmpty else {
            throw fail(
                .badValue, key: "description", line: table.line(of: "description") ?? 1,
                "missing or not a string", fix: "add a one-line `description = \"who this is for\"`")
        }
        guard !description.contains("\n") else {
            throw fail(.badValue, key: "description", line: table.line(of: "description"), "must be one line", fix: "move the details into a comment")
        }
        // It is printed (`profiles`, `apply`) and written into boot configuration
        // (`export`): an escape sequence from a profile must reach neither.
        guard PeerText.isClean(description, limit: 1_000) else {
            throw fail(
                .badValue, key: "description", line: table.line(of: "description"),
                "holds control characters or is longer than 1000 characters", fix: "write it as one line of plain text")
        }

        var includes: [String] = []
        if let includeValue = table["include"] {
            let line = table.line(of: "include")
            guard let array = includeValue.array else {
                throw fail(.badValue, key: "include", line: line, "must be a list of profile names", fix: "write include = [\"kernel-default\"]")
            }
            for element in array {
                guard let name = element.string, ProfileReference.isPlainName(name) else {
                    let shown = element.string.map { "'\(PeerText.sanitized($0, limit: 80))'" } ?? "a \(element.typeName)"
                    throw fail(
                        .badValue, key: "include", line: line, "\(shown) is not a profile name",
                        fix: "list plain names such as \"kernel-default\"; includes are looked up on the search path")
                }
                includes.append(name)
            }
        }

        var sysctls: [SysctlKey: String] = [:]
        if let sysctlValue = table["sysctl"] {
            guard let sysctlTable = sysctlValue.table else {
                throw fail(.badValue, key: "sysctl", line: table.line(of: "sysctl"), "must be a table", fix: "write a [sysctl] section")
            }
            for (name, value, line) in flatten(sysctlTable) {
                let key: SysctlKey
                do {
                    key = try SysctlKey(name)
                } catch {
                    throw fail(.unknownKey, key: name, line: line, error.description)
                }
                let text: String
                switch value {
                case .string(let string): text = SysctlValue.normalize(string)
                case .integer(let integer): text = String(integer)
                default:
                    throw fail(
                        .badValue, key: name, line: line, "must be a string or an integer, not a \(value.typeName)",
                        fix: "quote vector values: \(name) = \"4096 131072 6291456\"")
                }
                guard !text.isEmpty else { throw fail(.badValue, key: name, line: line, "is empty") }
                if let problem = SysctlSchema.problem(with: text, for: key) {
                    throw fail(.badValue, key: name, line: line, problem)
                }
                if tripleKeys.contains(key) {
                    do {
                        _ = try TCPBufferTriple(parsing: text)
                    } catch {
                        throw fail(.badValue, key: name, line: line, error.description)
                    }
                }
                sysctls[key] = text
            }
        }

        var link = LinkSettings()
        if let linkValue = table["link"] {
            guard let linkTable = linkValue.table else {
                throw fail(.badValue, key: "link", line: table.line(of: "link"), "must be a table", fix: "write a [link] section with mtu = 1500")
            }
            for entry in linkTable.entries where !linkKeys.contains(entry.key) {
                throw fail(
                    .unknownKey, key: "link.\(entry.key)", line: entry.line, "unknown key",
                    fix: "[link] takes mtu and, optionally, interface")
            }
            if let mtuValue = linkTable["mtu"] {
                let line = linkTable.line(of: "mtu")
                guard let mtu = mtuValue.integer else {
                    throw fail(
                        .badValue, key: "link.mtu", line: line,
                        "must be a whole number of bytes, not a \(mtuValue.typeName)", fix: "write mtu = 1500 or mtu = 9000")
                }
                guard mtu >= Int64(LinkSettings.mtuRange.lowerBound), mtu <= Int64(LinkSettings.mtuRange.upperBound) else {
                    throw fail(
                        .badValue, key: "link.mtu", line: line,
                        "\(mtu) is not an MTU between \(LinkSettings.mtuRange.lowerBound) and \(LinkSettings.mtuRange.upperBound)",
                        fix: "Ethernet uses 1500, jumbo frames 9000")
                }
                link.mtu = Int(mtu)
            }
            if let interfaceValue = linkTable["interface"] {
                guard let interface = interfaceValue.string, InterfaceName.isValid(interface) else {
                    throw fail(
                        .badValue, key: "link.interface", line: linkTable.line(of: "interface"),
                        "is not an interface name", fix: "write interface = \"eth0\", or leave it out for the default-route interface")
                }
                link.interface = interface
            }
        }

        return Profile(
            name: name, version: Int(version), description: description.trimmingWhitespace(),
            includes: includes, sysctls: sysctls, link: link, path: path)
    }

    /// `[sysctl]` with dotted keys is a tree of tables in TOML; flatten it back to
    /// `net.ipv4.tcp_wmem`, each with the line that set it.
    static func flatten(_ table: ProfileTOML.Table, prefix: String = "") -> [(String, ProfileTOML.Value, Int)] {
        var result: [(String, ProfileTOML.Value, Int)] = []
        for entry in table.entries {
            let name = prefix.isEmpty ? entry.key : prefix + "." + entry.key
            if let nested = entry.value.table {
                result += flatten(nested, prefix: name)
            } else {
                result.append((name, entry.value, entry.line))
            }
        }
        return result
    }
}

/// Linux interface names: 1–15 bytes, no `/`, no whitespace, not `.` or `..`.
public enum InterfaceName {
    public static func isValid(_ name: String) -> Bool {
        guard (1...15).contains(name.utf8.count), name != ".", name != ".." else { return false }
        return !name.contains { $0 == "/" || $0 == " " || $0 == "\t" || $0 == "\n" || $0 == ":" }
    }
}
