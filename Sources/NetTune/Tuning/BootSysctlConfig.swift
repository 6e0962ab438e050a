/// sysctl.d(5) configuration that systemd-sysctl applies at boot: a key set there
/// replaces nettune's value after a reboot, so the plan warns about it.
public struct BootSysctlConfig: Sendable {
    public var directories: [String]
    public var files: [String]

    public init(directories: [String], files: [String]) {
        self.directories = directories
        self.files = files
    }

    public static let system = BootSysctlConfig(
        directories: ["/etc/sysctl.d", "/run/sysctl.d", "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d", "/lib/sysctl.d"],
        files: ["/etc/sysctl.conf"])

    public static let none = BootSysctlConfig(directories: [], files: [])

    /// Every `key = value` assignment found, with the file that makes it.
    public func assignments() -> [(file: String, key: SysctlKey, value: String)] {
        var paths: [String] = []
        for directory in directories {
            paths += TextFile.list(directory).filter { $0.hasSuffix(".conf") }.map { directory + "/" + $0 }
        }
        paths += files
        var result: [(file: String, key: SysctlKey, value: String)] = []
        for path in paths {
            guard let text = try? TextFile.read(path) else { continue }
            for line in text.split(separator: "\n") {
                let trimmed = String(line).trimmingWhitespace()
                guard let first = trimmed.first, first != "#", first != ";",
                    let equals = trimmed.firstIndex(of: "=")
                else { continue }
                var name = String(trimmed[..<equals]).trimmingWhitespace()
                if name.hasPrefix("-") { name.removeFirst() }  // "-key": ignore failures
                guard let key = try? SysctlKey(name) else { continue }
                let value = String(trimmed[trimmed.index(after: equals)...]).trimmingWhitespace()
                result.append((path, key, SysctlValue.normalize(value)))
            }
        }
        return result
    }

    func overrides(for settings: [Change]) -> [TuningWarning] {
        let assignments = assignments()
        var warnings: [TuningWarning] = []
        for setting in settings {
            guard case .sysctl(let key) = setting.target else { continue }
            for assignment in assignments where assignment.key == key && !SysctlValue.same(assignment.value, setting.to) {
                warnings.append(
                    TuningWarning(
                        "\(assignment.file) sets \(key) = \(assignment.value) at boot, which replaces \(setting.to) after a reboot; "
                            + "edit that file to keep the new value across reboots"))
            }
        }
        return warnings
    }
}
