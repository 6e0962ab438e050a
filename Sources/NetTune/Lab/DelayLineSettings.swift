import SystemPackage

/// What `nettune-delayline` is asked to do: join two namespaces with a TUN device
/// in each, and carry packets between them after `delay`, dropping a `loss`
/// fraction of them.
public struct DelayLineSettings: Sendable, Equatable {
    /// Named namespaces (`ip netns add NAME`) for the two ends.
    public var namespaceA: String
    public var namespaceB: String
    /// The TUN devices to create, one in each namespace.
    public var deviceA: String
    public var deviceB: String
    /// One-way delay, applied in both directions (the round trip is twice this).
    public var delay: Duration
    /// The chance each packet is lost, 0...1, applied in both directions.
    public var loss: Double
    /// Seeds the loss, so a run with the same seed drops the same packets.
    public var seed: UInt64
    /// Bytes each direction may hold in flight before it drops.
    public var queueLimit: Int
    /// virtio-net headers and TSO: 64 KiB segments instead of MTU-sized packets.
    public var offloads: Bool

    public static let maximumDelay: Duration = .seconds(10)
    /// 1 Gbit/s × 200 ms is 25 MB; the default holds 2.5 times that.
    public static let defaultQueueLimit = 64 << 20
    public static let queueLimits = (1 << 20)...(1 << 30)

    public init(
        namespaceA: String, namespaceB: String, deviceA: String, deviceB: String,
        delay: Duration, loss: Double = 0, seed: UInt64 = 1,
        queueLimit: Int = DelayLineSettings.defaultQueueLimit, offloads: Bool = true
    ) {
        self.namespaceA = namespaceA
        self.namespaceB = namespaceB
        self.deviceA = deviceA
        self.deviceB = deviceB
        self.delay = delay
        self.loss = loss
        self.seed = seed
        self.queueLimit = queueLimit
        self.offloads = offloads
    }

    /// Refuses settings that cannot be carried out, before anything is created.
    public func validate() throws(DelayLineError) {
        guard delay >= .zero, delay <= Self.maximumDelay else {
            throw .setting("a delay of \(TimeSpan.format(delay)) is outside 0 to 10 s (it is each way; the round trip is twice it)")
        }
        guard loss.isFinite, loss >= 0, loss <= 1 else {
            throw .setting("a loss of \(loss * 100) % is outside 0 to 100 %")
        }
        guard Self.queueLimits.contains(queueLimit) else {
            throw .setting("a queue of \(ByteCount(queueLimit)) is outside 1 MiB to 1 GiB")
        }
        for name in [namespaceA, namespaceB] {
            guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else {
                throw .setting("'\(name)' is not a namespace name (as `ip netns list` shows them)")
            }
        }
        guard namespaceA != namespaceB else {
            throw .setting("both ends are in \(namespaceA); the line joins two different namespaces")
        }
    }
}

/// Why the delay line could not start or had to stop.
public enum DelayLineError: Error, Equatable, CustomStringConvertible {
    case setting(String)
    /// The namespace is the one this process runs in: the line never adds devices there.
    case ownNamespace(String)
    case namespace(NamespaceError)
    case device(TunError)
    /// A TUN device failed while forwarding.
    case forwarding(device: String, errno: Errno)

    public var description: String {
        switch self {
        case .setting(let text): return text
        case .ownNamespace(let name):
            return "\(name) is the namespace this process runs in; the delay line only creates devices inside lab namespaces"
        case .namespace(let error): return error.description
        case .device(let error): return error.description
        case .forwarding(let device, let errno): return "forwarding through \(device) failed: \(errno)"
        }
    }
}
