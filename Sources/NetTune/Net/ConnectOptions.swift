import Glibc

/// How a client reaches its peer: which address family (`-4`/`-6`, as iperf3 and
/// ping spell them) and, with `--bind`, which local address it leaves from.
public struct ConnectOptions: Sendable, Equatable {
    public enum Family: Sendable, Equatable {
        case any, ipv4, ipv6

        var value: Int32 {
            switch self {
            case .any: return AF_UNSPEC
            case .ipv4: return AF_INET
            case .ipv6: return AF_INET6
            }
        }
    }

    public var family: Family
    /// A numeric local address (`10.0.0.5`, `fe80::2%eth0`); the port is the kernel's choice.
    public var bindAddress: String?

    public init(family: Family = .any, bindAddress: String? = nil) {
        self.family = family
        self.bindAddress = bindAddress
    }
}
