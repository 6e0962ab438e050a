/// A resolved profile as the distribution's own boot-time configuration.
public enum BootConfigExport {
    /// An /etc/sysctl.d/ fragment: `key = value` lines, read by systemd-sysctl.
    public static func sysctlD(_ profile: Profile) -> String {
        var out = "# nettune profile \(profile.name): \(profile.description)\n"
        out += "# Save as /etc/sysctl.d/90-nettune-\(profile.name).conf; applied at boot by systemd-sysctl,\n"
        out += "# or now with: sysctl --system\n"
        for (key, value) in profile.sortedSysctls { out += "\(key.name) = \(value)\n" }
        if let mtu = profile.link.mtu {
            out += "# The profile's MTU (\(mtu)) is not a sysctl: see `nettune export \(profile.name) --format networkd`.\n"
        }
        return out
    }

    /// A systemd-networkd .link file setting the MTU of one interface at boot.
    public static func networkdLink(_ profile: Profile, interface: String) -> String {
        var out = "# nettune profile \(profile.name): \(profile.description)\n"
        out += "# Save as /etc/systemd/network/10-nettune-\(interface).link; applied by udev when the device appears.\n"
        out += "[Match]\nOriginalName=\(interface)\n\n[Link]\n"
        if let mtu = profile.link.mtu { out += "MTUBytes=\(mtu)\n" }
        return out
    }
}
