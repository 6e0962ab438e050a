/// After `nettune try` applied a profile: does the path to the peer still work?
public protocol PeerChecking {
    var peer: Endpoint { get }
    /// Before anything is changed: what can fail without the change (the peer's
    /// name not resolving) fails here, and nothing is applied.
    func prepare() throws
    /// - Throws: `PeerCheckError` with the evidence when it does not; `Interrupted`.
    func check(after plan: Plan) throws -> PeerCheckReport
}

extension PeerChecking {
    public func prepare() throws {}
}

/// What the peer check saw.
public struct PeerCheckReport: Equatable, Sendable {
    public var bytes: UInt64
    public var seconds: Double
    /// TCP_INFO's path MTU of the probe's connection.
    public var pmtu: UInt32
    /// The MTU a don't-fragment probe carried through, when the plan changed one.
    public var dontFragment: (size: Int, seconds: Double)?

    public static func == (a: PeerCheckReport, b: PeerCheckReport) -> Bool {
        a.bytes == b.bytes && a.seconds == b.seconds && a.pmtu == b.pmtu
            && a.dontFragment?.size == b.dontFragment?.size && a.dontFragment?.seconds == b.dontFragment?.seconds
    }
}

/// The check `try --peer` runs against a `nettune serve`: a short real probe (the
/// peer's own protocol, a few MiB, so the server counts every byte), then — when
/// the plan changes the MTU of the interface the probe left by — don't-fragment
/// echo requests of the new MTU's size, because TCP's MSS negotiation hides an MTU
/// the path cannot carry.
public struct ProbePeerCheck<Links: LinkController>: PeerChecking {
    public var transport: any ProbeTransport
    public var links: Links
    public var bytes: Int
    public var interruption: Interruption?
    /// Sends the don't-fragment probes; replaced in tests.
    public var dontFragment: (SocketAddress, Int, Interruption?) throws -> DontFragmentPing.Outcome

    public init(
        transport: any ProbeTransport, links: Links, bytes: Int = 4 << 20, interruption: Interruption?,
        dontFragment: @escaping (SocketAddress, Int, Interruption?) throws -> DontFragmentPing.Outcome = {
            try DontFragmentPing.probe($0, packetSize: $1, interruption: $2)
        }
    ) {
        self.transport = transport
        self.links = links
        self.bytes = bytes
        self.interruption = interruption
        self.dontFragment = dontFragment
    }

    public var peer: Endpoint { transport.peer }

    /// Looks the peer's name up (within `NameLookup.limit`): a typo or a dead name
    /// server is found before the profile is applied, not after.
    public func prepare() throws {
        do {
            _ = try peer.resolve(interruption: interruption)
        } catch let error as EndpointError {
            throw PeerNotFoundError(cause: error)
        }
    }

    public func check(after plan: Plan) throws -> PeerCheckReport {
        let run: ProbeRun
        do {
            run = try transport.run(.sendfile, limit: bytes, progress: nil)
        } catch let error as Interrupted {
            throw error
        } catch {
            throw PeerCheckError(peer: peer, failure: .probe("\(error)"))
        }
        var report = PeerCheckReport(bytes: run.result.bytes, seconds: run.result.seconds, pmtu: run.result.tcpInfo.pmtu)

        // The MTU this plan set on the interface the probe left by, if any.
        let egress = run.localAddress.flatMap { try? links.interface(owningAddress: $0) }
        let newMTU = plan.changes.lazy.compactMap { change -> Int? in
            guard case .mtu(let interface) = change.target, interface == egress else { return nil }
            return Int(change.to)
        }.first
        guard let newMTU else { return report }
        guard let remote = run.remoteAddress else {
            throw PeerCheckError(peer: peer, failure: .noAddress)
        }
        let outcome: DontFragmentPing.Outcome
        do {
            outcome = try dontFragment(remote, newMTU, interruption)
        } catch let error as Interrupted {
            throw error
        } catch {
            throw PeerCheckError(peer: peer, failure: .dontFragmentUnsendable(size: newMTU, "\(error)"))
        }
        switch outcome {
        case .answered(let seconds):
            report.dontFragment = (newMTU, seconds)
            return report
        case .lost(let attempts):
            throw PeerCheckError(peer: peer, failure: .dontFragmentLost(size: newMTU, attempts: attempts, host: remote.host))
        }
    }
}

/// The path does not work after the change, with the evidence.
public struct PeerCheckError: Error, Equatable, CustomStringConvertible {
    public enum Failure: Equatable, Sendable {
        case probe(String)
        case noAddress
        case dontFragmentUnsendable(size: Int, String)
        case dontFragmentLost(size: Int, attempts: Int, host: String)
    }

    public var peer: Endpoint
    public var failure: Failure

    public var description: String {
        switch failure {
        case .probe(let cause):
            return "the probe to \(peer) failed after the change: \(cause)"
        case .noAddress:
            return "the peer check could not tell which address \(peer) answered from"
        case .dontFragmentUnsendable(let size, let cause):
            return "could not check that \(size)-byte packets reach \(peer): \(cause)"
        case .dontFragmentLost(let size, let attempts, let host):
            return "\(size)-byte packets with don't-fragment set do not reach \(host) (\(attempts) of \(attempts) echo requests lost): "
                + "the path cannot carry MTU \(size), although TCP still connects (each end's MSS follows its own MTU)"
        }
    }
}

/// `try --peer NAME` with a name that does not resolve: found before the change.
public struct PeerNotFoundError: Error, Equatable, CustomStringConvertible {
    public var cause: EndpointError
    public var description: String { "\(cause); nothing was changed" }
}
