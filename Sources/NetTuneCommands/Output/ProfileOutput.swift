import Foundation
import NetTune

/// `nettune profiles` for people.
enum ProfileOutput {
    static func renderList(_ entries: [ProfileLibrary.Entry], searchPath: ProfileSearchPath) -> String {
        var rows = [["NAME", "DESCRIPTION", "FROM"]]
        for entry in entries {
            var description: String
            switch entry.summary {
            case .success(let text): description = text
            case .failure(let error): description = "INVALID: \(error.message)"
            }
            if entry.shadowed { description = "(shadowed by an earlier one) " + description }
            rows.append([entry.name, description, "\(entry.origin.rawValue) \(entry.path)"])
        }
        var out = entries.isEmpty ? "No profiles found.\n" : TextTable.render(rows, indent: "")
        out += "Search path: " + searchPath.directories.map(\.path).joined(separator: ", ") + "\n"
        return out
    }

    /// Valid TOML, with a comment on each value saying which profile it comes from.
    static func renderResolved(_ profile: Profile) -> String {
        var out = "# \(profile.name) (\(profile.path)), includes merged\n"
        out += "version = \(profile.version)\n"
        out += "description = \(quoted(profile.description))\n"
        if !profile.includes.isEmpty {
            out += "include = [" + profile.includes.map(quoted).joined(separator: ", ") + "]\n"
        }
        if !profile.sysctls.isEmpty {
            out += "\n[sysctl]\n"
            var rows: [[String]] = []
            for (key, value) in profile.sortedSysctls {
                let literal = Int(value).map(String.init) ?? quoted(value)
                rows.append(["\(quotedKey(key)) = \(literal)", "# from \(profile.origins[key.name] ?? profile.name)"])
            }
            out += TextTable.render(rows, indent: "")
        }
        if profile.link.mtu != nil || profile.link.interface != nil {
            out += "\n[link]\n"
            if let mtu = profile.link.mtu { out += "mtu = \(mtu)  # from \(profile.origins["mtu"] ?? profile.name)\n" }
            if let interface = profile.link.interface {
                out += "interface = \(quoted(interface))\n"
            } else {
                out += "# interface: the default-route interface, unless --interface names one\n"
            }
        }
        return out
    }

    static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    /// Bare dotted keys where TOML allows them; quoted components otherwise.
    private static func quotedKey(_ key: SysctlKey) -> String {
        key.components.map { component in
            component.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" } ? component : quoted(component)
        }.joined(separator: ".")
    }
}
