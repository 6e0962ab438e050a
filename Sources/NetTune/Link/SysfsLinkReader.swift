import SystemPackage

/// What a driver says about its link in sysfs: speed and duplex (as `ethtool`
/// shows them), and whether a device backs the interface at all.
public enum SysfsLinkReader {
    public struct Facts: Equatable, Sendable {
        public var speed: Double?
        public var duplex: String?
        public var physical: Bool
    }

    /// Reads `/sys/class/net/NAME/{speed,duplex,device}`; a value the driver does
    /// not report (EINVAL without carrier, -1, "unknown") is nil.
    public static func read(_ name: String, root: FilePath = "/sys/class/net") -> Facts {
        guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else { return Facts(speed: nil, duplex: nil, physical: false) }
        let directory = root.appending(name)
        func value(_ file: String) -> String? {
            (try? TextFile.read(directory.appending(file), limit: 64))?.trimmingWhitespace()
        }
        let megabits = value("speed").flatMap { Double($0) }.flatMap { $0 > 0 ? $0 : nil }
        let duplex = value("duplex").flatMap { $0 == "full" || $0 == "half" ? $0 : nil }
        return Facts(speed: megabits.map { $0 * 1e6 }, duplex: duplex, physical: TextFile.exists(directory.appending("device").string))
    }

    /// The hardware address a device was made with (`address`, where
    /// `addr_assign_type` is 0, NET_ADDR_PERM), as six colon-separated hex pairs;
    /// nil for a virtual interface, a random or user-set address, or no device here.
    /// What a systemd `.link` file can match on across reboots and renames.
    public static func permanentHardwareAddress(_ name: String, root: FilePath = "/sys/class/net") -> String? {
        guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else { return nil }
        let directory = root.appending(name)
        guard TextFile.exists(directory.appending("device").string),
            (try? TextFile.read(directory.appending("addr_assign_type"), limit: 16))?.trimmingWhitespace() == "0",
            let address = (try? TextFile.read(directory.appending("address"), limit: 64))?.trimmingWhitespace().lowercased()
        else { return nil }
        let pairs = address.split(separator: ":", omittingEmptySubsequences: false)
        guard pairs.count == 6, pairs.allSatisfy({ $0.count == 2 && UInt8($0, radix: 16) != nil }), address != "00:00:00:00:00:00" else {
            return nil
        }
        return address
    }
}
