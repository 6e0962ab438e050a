import Foundation

/// Something that should have started listening in a lab namespace did not.
struct NotListening: Error, CustomStringConvertible {
    var namespace: String
    var port: String
    var seconds: Double
    var description: String { "nothing listened on port \(port) in \(namespace) within \(seconds) s" }
}

extension Lab {
    /// Returns once something listens on `port` in `ns`; throws `NotListening`
    /// after `seconds`. A server can take seconds to start on a loaded machine (a
    /// run of `make test` once saw a client refused after the old 5 s wait ran out
    /// without a word), so the wait is long, and its end is an error, not a
    /// client that fails for another reason.
    func awaitListening(in ns: String, port: String, within seconds: Double = 30) throws {
        let end = Date(timeIntervalSinceNow: seconds)
        while true {
            if try run(in: ns, ["ss", "-Hltn", "sport = :\(port)"]).stdout.contains(":\(port)") { return }
            guard Date() < end else { throw NotListening(namespace: ns, port: port, seconds: seconds) }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    /// Returns once no connection to `port` is open in `ns` (TIME-WAIT aside), or
    /// after `seconds` — a peer that is still stopped keeps its connections, and the
    /// caller goes on then.
    @discardableResult
    func awaitNoConnections(in ns: String, port: String, within seconds: Double) -> Bool {
        let end = Date(timeIntervalSinceNow: seconds)
        while true {
            let open = (try? run(in: ns, ["ss", "-Htn", "state", "connected", "exclude", "time-wait", "sport = :\(port)"]))?.stdout
            if let open, open.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return true }
            guard Date() < end else { return false }
            Thread.sleep(forTimeInterval: 0.02)
        }
    }

    /// Returns once `device` in `ns` has sent (or received) `bytes` more than when
    /// called — a transfer is under way; throws `NoTraffic` after `seconds`.
    func awaitBytes(in ns: String, device: String, sent: Bool, atLeast bytes: Int, within seconds: Double) throws {
        let counter = "/sys/class/net/\(device)/statistics/\(sent ? "tx" : "rx")_bytes"
        func read() throws -> Int { Int(try check(in: ns, ["cat", counter]).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0 }
        let start = try read()
        let end = Date(timeIntervalSinceNow: seconds)
        while try read() - start < bytes {
            guard Date() < end else { throw NoTraffic(namespace: ns, device: device, seconds: seconds) }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }
}

/// A transfer a test waited for did not move its bytes.
struct NoTraffic: Error, CustomStringConvertible {
    var namespace: String
    var device: String
    var seconds: Double
    var description: String { "\(device) in \(namespace) moved too little within \(seconds) s" }
}
