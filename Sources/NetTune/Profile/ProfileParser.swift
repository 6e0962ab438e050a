import TOMLKit

/// Turns one profile file's TOML into a `Profile`, refusing anything it does not
/// understand: unknown keys, keys outside `net.`, malformed triples, impossible
/// MTUs, a newer format version.
public enum ProfileParser {
    static let topLevelKeys: Set<String> = ["version", "description", "include", "sysctl", "link"]
    static let linkKeys: Set<String> = ["mtu", "interface"]
    /// Sysctls whose values are `min default max` triples (`tcp_mem` in pages).
    static let tripleKeys: Set<SysctlKey> = [.tcpWmem, .tcpRmem, .tcpMem]

    public static func parse(_ text: String, name: String, path: String) throws(ProfileError) -> Profile {
        let lines = SourceLines(text)
        func fail(_ kind: ProfileError.Kind, key: String? = nil, line: Int? = nil, _ message: String, fix: String? = nil) -> ProfileError {
            ProfileError(kind, file: path, line: line ?? key.flatMap(lines.line(of:)), key: key, message: message, fix: fix)
        }

        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw fail(.syntax, line: error.source.begin.line, "invalid TOML: \(error.description)")
        } catch {
            throw fail(.syntax, "invalid TOML: \(error)")
        }

        for (key, _) in table where !topLevelKeys.contains(key) {
            throw fail(.unknownKey, key: key, "unknown key",
                       fix: "a profile has version, description, include, [sysctl] and [link]")
        }

        guard let versionValue = table["version"] else {
            throw fail(.badVersion, key: "version", line: 1, "missing format version",
                       fix: "add `version = \(Profile.supportedVersion)` at the top")
        }
        guard let version = versionValue.int, version >= 1 else {
            throw fail(.badVersion, key: "version", "must be a positive integer", fix: "write `version = \(Profile.supportedVersion)`")
        }
        guard version <= Profile.supportedVersion else {
            throw fail(.badVersion, key: "version",
                       "format version \(version) is newer than this nettune understands (\(Profile.supportedVersion))",
                       fix: "upgrade nettune, or write the profile in format \(Profile.supportedVersion)")
        }

        guard let description = table["description"]?.string, !description.trimmingWhitespace().isEmpty else {
            throw fail(.badValue, key: "description", line: table["description"] == nil ? 1 : nil,
                       "missing or not a string", fix: "add a one-line `description = \"who this is for\"`")
        }
        guard !description.contains("\n") else {
            throw fail(.badValue, key: "description", "must be one line", fix: "move the details into a comment")
        }

        var includes: [String] = []
        if let includeValue = table["include"] {
            guard let array = includeValue.array else {
                throw fail(.badValue, key: "include", "must be a list of profile names", fix: "write include = [\"kernel-default\"]")
            }
            for element in array {
                guard let name = element.string, ProfileReference.isPlainName(name) else {
                    throw fail(.badValue, key: "include", "'\(element)' is not a profile name",
                               fix: "list plain names such as \"kernel-default\"; includes are looked up on the search path")
                }
                includes.append(name)
            }
        }

        var sysctls: [SysctlKey: String] = [:]
        if let sysctlValue = table["sysctl"] {
            guard let sysctlTable = sysctlValue.table else {
                throw fail(.badValue, key: "sysctl", "must be a table", fix: "write a [sysctl] section")
            }
            for (name, value) in flatten(sysctlTable) {
                let key: SysctlKey
                do {
                    key = try SysctlKey(name)
                } catch {
                    throw fail(.unknownKey, key: name, error.description)
                }
                let text: String
                if let string = value.string {
                    text = SysctlValue.normalize(string)
                } else if let int = value.int {
                    text = String(int)
                } else {
                    throw fail(.badValue, key: name, "must be a string or an integer, not a \(value.type)",
                               fix: "quote vector values: \(name) = \"4096 131072 6291456\"")
                }
                guard !text.isEmpty else { throw fail(.badValue, key: name, "is empty") }
                if let problem = SysctlSchema.problem(with: text, for: key) {
                    throw fail(.badValue, key: name, problem)
                }
                if tripleKeys.contains(key) {
                    do {
                        _ = try TCPBufferTriple(parsing: text)
                    } catch {
                        throw fail(.badValue, key: name, error.description)
                    }
                }
                sysctls[key] = text
            }
        }

        var link = LinkSettings()
        if let linkValue = table["link"] {
            guard let linkTable = linkValue.table else {
                throw fail(.badValue, key: "link", "must be a table", fix: "write a [link] section with mtu = 1500")
            }
            for (key, _) in linkTable where !linkKeys.contains(key) {
                throw fail(.unknownKey, key: "link.\(key)", line: lines.line(of: key), "unknown key",
                           fix: "[link] takes mtu and, optionally, interface")
            }
            if let mtuValue = linkTable["mtu"] {
                guard let mtu = mtuValue.int else {
                    throw fail(.badValue, key: "link.mtu", line: lines.line(of: "mtu"),
                               "must be a whole number of bytes, not a \(mtuValue.type)", fix: "write mtu = 1500 or mtu = 9000")
                }
                guard LinkSettings.mtuRange.contains(mtu) else {
                    throw fail(.badValue, key: "link.mtu", line: lines.line(of: "mtu"),
                               "\(mtu) is not an MTU between \(LinkSettings.mtuRange.lowerBound) and \(LinkSettings.mtuRange.upperBound)",
                               fix: "Ethernet uses 1500, jumbo frames 9000")
                }
                link.mtu = mtu
            }
            if let interfaceValue = linkTable["interface"] {
                guard let interface = interfaceValue.string, InterfaceName.isValid(interface) else {
                    throw fail(.badValue, key: "link.interface", line: lines.line(of: "interface"),
                               "is not an interface name", fix: "write interface = \"eth0\", or leave it out for the default-route interface")
                }
                link.interface = interface
            }
        }

        return Profile(name: name, version: version, description: description.trimmingWhitespace(),
                       includes: includes, sysctls: sysctls, link: link, path: path)
    }

    /// `[sysctl]` with dotted keys is a tree of tables in TOML; flatten it back to
    /// `net.ipv4.tcp_wmem`.
    static func flatten(_ table: TOMLTable, prefix: String = "") -> [(String, any TOMLValueConvertible)] {
        var result: [(String, any TOMLValueConvertible)] = []
        for (key, value) in table {
            let name = prefix.isEmpty ? key : prefix + "." + key
            if let nested = value.table {
                result += flatten(nested, prefix: name)
            } else {
                result.append((name, value))
            }
        }
        return result
    }
}

/// TOMLKit reports lines for syntax errors only; for semantic errors nettune finds
/// the line that sets the key itself.
struct SourceLines {
    let lines: [Substring]

    init(_ text: String) {
        lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    }

    /// The first line that assigns `key` (dotted, quoted, or its last component).
    func line(of key: String) -> Int? {
        let candidates = [key, "\"\(key)\"", "'\(key)'", String(key.split(separator: ".").last ?? "")]
        for (index, raw) in lines.enumerated() {
            let line = String(raw).trimmingWhitespace()
            for candidate in candidates where !candidate.isEmpty && line.hasPrefix(candidate) {
                let rest = line.dropFirst(candidate.count).drop { $0 == " " || $0 == "\t" }
                if rest.first == "=" { return index + 1 }
            }
        }
        return nil
    }
}

/// Linux interface names: 1–15 bytes, no `/`, no whitespace, not `.` or `..`.
public enum InterfaceName {
    public static func isValid(_ name: String) -> Bool {
        guard (1...15).contains(name.utf8.count), name != ".", name != ".." else { return false }
        return !name.contains { $0 == "/" || $0 == " " || $0 == "\t" || $0 == "\n" || $0 == ":" }
    }
}
