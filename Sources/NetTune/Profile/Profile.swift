/// A named tuning profile: sysctls to set and, optionally, an interface MTU.
///
/// As loaded from one file a profile is *unresolved* (its `includes` not merged);
/// `ProfileLibrary.resolve` returns the merged profile, with `includes` kept for
/// display and `origins` saying which file each value came from.
public struct Profile: Equatable, Sendable {
    /// The newest format this build understands; a newer file is refused rather
    /// than half-understood.
    public static let supportedVersion = 1

    public var name: String
    public var version: Int
    public var description: String
    public var includes: [String]
    /// Sysctl values, normalised, in key order.
    public var sysctls: [SysctlKey: String]
    public var link: LinkSettings
    /// Where the file was read from.
    public var path: String
    /// For a resolved profile: the profile each sysctl came from ("mtu" for the MTU).
    public var origins: [String: String]

    public init(
        name: String, version: Int = Profile.supportedVersion, description: String, includes: [String] = [],
        sysctls: [SysctlKey: String] = [:], link: LinkSettings = LinkSettings(), path: String = "",
        origins: [String: String] = [:]
    ) {
        self.name = name
        self.version = version
        self.description = description
        self.includes = includes
        self.sysctls = sysctls
        self.link = link
        self.path = path
        self.origins = origins
    }

    public var sortedSysctls: [(key: SysctlKey, value: String)] {
        sysctls.sorted { $0.key < $1.key }.map { (key: $0.key, value: $0.value) }
    }
}

/// The `[link]` table: an MTU, for a named interface or for the default-route one.
public struct LinkSettings: Equatable, Sendable {
    /// What a profile may ask for: IPv4's minimum to the largest IP packet.
    public static let mtuRange = 68...65535
    /// What a link may already have, and a revert must restore: loopback's default
    /// is 65536, and drivers without a maximum take any 32-bit value.
    public static let heldMTURange = 0...Int(Int32.max)

    public var mtu: Int?
    /// nil: the interface carrying the default route (or the CLI's `--interface`).
    public var interface: String?

    public init(mtu: Int? = nil, interface: String? = nil) {
        self.mtu = mtu
        self.interface = interface
    }
}
