import Foundation
import Glibc
import Testing

@testable import NetTune

/// getaddrinfo waits on name servers as long as resolv.conf allows and starts
/// again after a signal: a `try --peer NAME` kept its profile a minute past SIGTERM.
/// The lookup runs on its own thread; the wait for it has a limit and a signal.
@Suite struct NameLookupTests {
    /// A name server that never answers (the thread is left behind, as in use).
    private static let silent: @Sendable (Int32) -> Result<[SocketAddress], EndpointError> = { flags in
        if flags & AI_NUMERICHOST != 0 { return .failure(.unresolvable(host: "x", reason: "", numericOnly: true)) }
        Thread.sleep(forTimeInterval: 30)
        return .success([])
    }

    private func seconds(_ body: () -> Void) -> Double {
        let start = Date()
        body()
        return Date().timeIntervalSince(start)
    }

    @Test func aSignalEndsTheWaitAtOnce() throws {
        let interruption = try Interruption.manual()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.2) { interruption.trigger(SIGTERM) }
        let took = seconds {
            #expect(throws: Interrupted(signal: SIGTERM)) {
                try NameLookup.addresses(host: "backup.lan", port: 9000, family: AF_UNSPEC, interruption: interruption, lookup: Self.silent)
            }
        }
        #expect(took < 2, "\(took) s")
    }

    @Test func aNameServerThatDoesNotAnswerIsGivenUpOnAtTheLimit() throws {
        let took = seconds {
            let error = #expect(throws: EndpointError.self) {
                try NameLookup.addresses(
                    host: "backup.lan", port: 9000, family: AF_UNSPEC, interruption: nil, limit: .milliseconds(300), lookup: Self.silent)
            }
            #expect(
                error?.description
                    == "cannot resolve 'backup.lan': no answer from the name servers within 300 ms; check /etc/resolv.conf, or give an address")
        }
        #expect(took >= 0.29 && took < 2, "\(took) s")
    }

    @Test func aNumericAddressIsAnsweredWithoutAThread() throws {
        let addresses = try NameLookup.addresses(host: "127.0.0.1", port: 9000, family: AF_UNSPEC, interruption: nil)
        #expect(addresses.count == 1)
        let v6 = try NameLookup.addresses(host: "::1", port: 9000, family: AF_UNSPEC, interruption: nil)
        #expect(v6.first?.family == AF_INET6)
    }

    @Test func aNameIsLookedUpOnTheThread() throws {
        // /etc/hosts, no name server: localhost resolves everywhere.
        let addresses = try NameLookup.addresses(host: "localhost", port: 9000, family: AF_INET, interruption: nil)
        #expect(!addresses.isEmpty)
    }
}
