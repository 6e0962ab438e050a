/// One network interface as the kernel reports it over rtnetlink.
public struct LinkInfo: Equatable, Sendable {
    public var index: Int
    public var name: String
    public var mtu: Int
    /// `IFLA_MIN_MTU` / `IFLA_MAX_MTU`; nil where the driver does not report them.
    public var minMTU: Int?
    public var maxMTU: Int?
    /// Administratively up (`IFF_UP`).
    public var adminUp: Bool
    public var operState: OperState
    /// The root qdisc, if any.
    public var qdisc: Qdisc?
    /// `txqueuelen`: packets the device queue holds (`IFLA_TXQLEN`).
    public var txQueueLength: Int?
    /// The interface's addresses with their prefix lengths, IPv4 first.
    public var addresses: [String]
    /// What the driver reports in sysfs (`speed`, `duplex`); nil where it reports
    /// nothing (loopback, a device without carrier).
    public var speedBitsPerSecond: Double?
    public var duplex: String?
    /// Backed by a device (`/sys/class/net/NAME/device`), not virtual (veth, bridge).
    public var physical: Bool

    public init(
        index: Int, name: String, mtu: Int, minMTU: Int? = nil, maxMTU: Int? = nil,
        adminUp: Bool, operState: OperState = .unknown, qdisc: Qdisc? = nil, txQueueLength: Int? = nil,
        addresses: [String] = [], speedBitsPerSecond: Double? = nil, duplex: String? = nil, physical: Bool = false
    ) {
        self.txQueueLength = txQueueLength
        self.addresses = addresses
        self.speedBitsPerSecond = speedBitsPerSecond
        self.duplex = duplex
        self.physical = physical
        self.index = index
        self.name = name
        self.mtu = mtu
        self.minMTU = minMTU
        self.maxMTU = maxMTU
        self.adminUp = adminUp
        self.operState = operState
        self.qdisc = qdisc
    }
}

/// RFC 2863 operational state (`IF_OPER_*`).
public enum OperState: String, Sendable, Equatable {
    case unknown
    case notPresent = "notpresent"
    case down
    case lowerLayerDown = "lowerlayerdown"
    case testing, dormant, up

    public init(kernelValue: UInt8) {
        switch kernelValue {
        case 1: self = .notPresent
        case 2: self = .down
        case 3: self = .lowerLayerDown
        case 4: self = .testing
        case 5: self = .dormant
        case 6: self = .up
        default: self = .unknown
        }
    }
}

/// A root queueing discipline and, for shapers, the rate it enforces.
public struct Qdisc: Equatable, Sendable {
    public var kind: String
    /// Shaping rate in bits per second (`tbf` rate; `htb`: sum of its top-level classes' ceilings).
    public var rateBitsPerSecond: UInt64?

    public init(kind: String, rateBitsPerSecond: UInt64? = nil) {
        self.kind = kind
        self.rateBitsPerSecond = rateBitsPerSecond
    }
}

extension Array where Element == LinkInfo {
    public func named(_ name: String) -> LinkInfo? { first { $0.name == name } }
}
