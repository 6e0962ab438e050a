/// One of the two ends' tuning, as it sends it: the diagnosis can then say "the
/// receiver's tcp_rmem max is 4 KiB" instead of guessing, and the history's
/// fingerprint covers both ends. Absent fields are unknown, never invented.
public struct TuningState: Equatable, Sendable, Codable {
    public var tcpWmem: String?
    public var tcpRmem: String?
    public var wmemMax: Int?
    public var rmemMax: Int?
    public var congestion: String?
    public var mtu: Int?
    public var interface: String?
    public var kernel: String?
    public var version: String?
    /// The egress interface's shaping rate (tbf/htb) and the driver's link speed, bit/s.
    public var shapingRate: Int?
    public var linkSpeed: Int?
    /// The egress interface's root qdisc ("fq", "pfifo_fast", "noqueue", "mq"…) and
    /// `net.core.default_qdisc`, which a multi-queue root (`mq`) gives each queue:
    /// whether `fq` paces a BBR sender, or TCP itself with a timer per burst.
    public var qdisc: String?
    public var defaultQdisc: String?

    public init(
        tcpWmem: String? = nil, tcpRmem: String? = nil, wmemMax: Int? = nil, rmemMax: Int? = nil, congestion: String? = nil,
        mtu: Int? = nil, interface: String? = nil, kernel: String? = nil, version: String? = nil,
        shapingRate: Int? = nil, linkSpeed: Int? = nil, qdisc: String? = nil, defaultQdisc: String? = nil
    ) {
        self.tcpWmem = tcpWmem
        self.tcpRmem = tcpRmem
        self.wmemMax = wmemMax
        self.rmemMax = rmemMax
        self.congestion = congestion
        self.mtu = mtu
        self.interface = interface
        self.kernel = kernel
        self.version = version
        self.shapingRate = shapingRate
        self.linkSpeed = linkSpeed
        self.qdisc = qdisc
        self.defaultQdisc = defaultQdisc
    }

    enum CodingKeys: String, CodingKey {
        case tcpWmem = "tcp_wmem"
        case tcpRmem = "tcp_rmem"
        case wmemMax = "wmem_max"
        case rmemMax = "rmem_max"
        case congestion, mtu, interface
        case kernel, version
        case shapingRate = "shaping_rate_bps"
        case linkSpeed = "link_speed_bps"
        case qdisc
        case defaultQdisc = "default_qdisc"
    }

    /// Unknown values are written as null, never left out: JSON readers can rely on every key.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(tcpWmem, forKey: .tcpWmem)
        try container.encode(tcpRmem, forKey: .tcpRmem)
        try container.encode(wmemMax, forKey: .wmemMax)
        try container.encode(rmemMax, forKey: .rmemMax)
        try container.encode(congestion, forKey: .congestion)
        try container.encode(mtu, forKey: .mtu)
        try container.encode(interface, forKey: .interface)
        try container.encode(kernel, forKey: .kernel)
        try container.encode(version, forKey: .version)
        try container.encode(shapingRate, forKey: .shapingRate)
        try container.encode(linkSpeed, forKey: .linkSpeed)
        try container.encode(qdisc, forKey: .qdisc)
        try container.encode(defaultQdisc, forKey: .defaultQdisc)
    }

    public var tcpWmemMax: Int? { tcpWmem.flatMap { try? TCPBufferTriple(parsing: $0) }?.max }
    public var tcpRmemMax: Int? { tcpRmem.flatMap { try? TCPBufferTriple(parsing: $0) }?.max }

    /// Attribute ids on the wire; unknown ids are skipped, so either end may add some.
    enum Attribute: UInt8, CaseIterable {
        case tcpWmem = 1
        case tcpRmem, wmemMax, rmemMax, congestion, mtu, kernel, version, interface, shapingRate, linkSpeed
        case qdisc, defaultQdisc
    }

    func attributes() -> [(Attribute, String)] {
        var out: [(Attribute, String)] = []
        func add(_ attribute: Attribute, _ value: String?) { if let value { out.append((attribute, value)) } }
        add(.tcpWmem, tcpWmem)
        add(.tcpRmem, tcpRmem)
        add(.wmemMax, wmemMax.map(String.init))
        add(.rmemMax, rmemMax.map(String.init))
        add(.congestion, congestion)
        add(.mtu, mtu.map(String.init))
        add(.kernel, kernel)
        add(.version, version)
        add(.interface, interface)
        add(.shapingRate, shapingRate.map(String.init))
        add(.linkSpeed, linkSpeed.map(String.init))
        add(.qdisc, qdisc)
        add(.defaultQdisc, defaultQdisc)
        return out
    }

    mutating func set(_ attribute: Attribute, _ value: String) throws(ProbeWireError) {
        func number() throws(ProbeWireError) -> Int {
            guard let number = Int(value), number >= 0 else { throw .malformed("attribute \(attribute.rawValue) is not a number") }
            return number
        }
        func kernelName() throws(ProbeWireError) -> String {
            // A qdisc's kind has a congestion control's shape: a kernel module's name.
            guard ProbeWire.isCongestionName(value) else { throw .malformed("attribute \(attribute.rawValue) is not a qdisc's name") }
            return value
        }
        func triple() throws(ProbeWireError) -> String {
            guard (try? TCPBufferTriple(parsing: value)) != nil else { throw .malformed("attribute \(attribute.rawValue) is not a buffer triple") }
            return value
        }
        switch attribute {
        case .tcpWmem: tcpWmem = try triple()
        case .tcpRmem: tcpRmem = try triple()
        case .wmemMax: wmemMax = try number()
        case .rmemMax: rmemMax = try number()
        case .congestion: congestion = value
        case .mtu: mtu = try number()
        case .kernel: kernel = value
        case .version: version = value
        case .interface: interface = value
        case .shapingRate: shapingRate = try number()
        case .linkSpeed: linkSpeed = try number()
        case .qdisc: qdisc = try kernelName()
        case .defaultQdisc: defaultQdisc = try kernelName()
        }
    }
}

extension TuningState {
    /// What tunes a transfer and differs from `later`, as "tcp_wmem A → B": the
    /// settings a probe's runs must share to be one measurement.
    public func tuningChanges(to later: TuningState) -> [String] {
        var changes: [String] = []
        func compare<Value: CustomStringConvertible & Equatable>(_ name: String, _ before: Value?, _ after: Value?) {
            guard before != after else { return }
            changes.append("\(name) \(before?.description ?? "unknown") → \(after?.description ?? "unknown")")
        }
        compare("tcp_wmem", tcpWmem.map(SysctlValue.normalize), later.tcpWmem.map(SysctlValue.normalize))
        compare("tcp_rmem", tcpRmem.map(SysctlValue.normalize), later.tcpRmem.map(SysctlValue.normalize))
        compare("wmem_max", wmemMax, later.wmemMax)
        compare("rmem_max", rmemMax, later.rmemMax)
        compare("congestion control", congestion, later.congestion)
        compare("MTU", mtu, later.mtu)
        return changes
    }
}
