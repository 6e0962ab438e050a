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

    /// A systemd .link file setting the MTU of one interface at boot (udev applies
    /// it, whichever network manager runs).
    ///
    /// Only the first .link file that matches a device is applied, and `OriginalName=`
    /// matches the name the kernel gave it, never one udev gave it later (enp3s0 was
    /// eth0 then). So a device with a permanent hardware address is matched by it, and
    /// keeps the name it has now (`Name=`), which the distribution's 99-default.link
    /// would otherwise have given it. Without one (a virtual interface, or one not on
    /// this machine) the name must be the kernel's, and 99-default.link's policies
    /// are kept.
    /// - Parameter hardwareAddress: the interface's permanent address on this machine
    ///   (`SysfsLinkReader.permanentHardwareAddress`), nil when it has none.
    public static func networkdLink(_ profile: Profile, interface: String, hardwareAddress: String?) -> String {
        var out = "# nettune profile \(profile.name): \(profile.description)\n"
        out += "# Save as /etc/systemd/network/10-nettune-\(interface).link; applied by udev when the device appears.\n"
        if let hardwareAddress {
            out += "# The first matching .link file is the one applied: this one matches \(interface) by its hardware\n"
            out += "# address and keeps its present name.\n"
            out += "[Match]\nMACAddress=\(hardwareAddress)\n\n[Link]\nName=\(interface)\n"
        } else {
            out += "# \(interface) has no permanent hardware address here (virtual, or not on this machine): this matches\n"
            out += "# the name the kernel gives it, not one udev gives it later. The first matching .link file is the\n"
            out += "# one applied: the policies are those of the distribution's 99-default.link.\n"
            out += "[Match]\nOriginalName=\(interface)\n\n[Link]\n"
            out += "NamePolicy=keep kernel database onboard slot path\nAlternativeNamesPolicy=database onboard slot path\n"
            out += "MACAddressPolicy=persistent\n"
        }
        if let mtu = profile.link.mtu { out += "MTUBytes=\(mtu)\n" }
        return out
    }
}
