import Foundation

extension Lab {
    static let probePort = "9000"

    /// Runs `body` while `nettune serve --json` listens in the lab's B namespace;
    /// returns the body's value and the server's JSON-lines log.
    func withServer<T>(_ extra: [String] = [], _ body: () throws -> T) throws -> (value: T, log: [[String: Any]]) {
        try withServer(extra) { (_: RunningCommand) in try body() }
    }

    /// The same, with the server's process at hand (to stop it, as a peer that
    /// stops reading).
    func withServer<T>(_ extra: [String] = [], _ body: (RunningCommand) throws -> T) throws -> (value: T, log: [[String: Any]]) {
        // The server's random payload goes to the tests' own cache, never the user's.
        let cache = extra.contains("--cache-dir") ? [] : ["--cache-dir", TestEnvironment.userStateDirectory + "/server-cache"]
        let server = try Command.start(
            [
                "ip", "netns", "exec", nsB, TestEnvironment.binary, "serve",
                "--port", Self.probePort, "--json"
            ] + cache + extra)
        var stopped = false
        defer {
            if !stopped {
                server.kill()
                _ = try? server.wait()
            }
        }
        try awaitListening(in: nsB, port: Self.probePort)
        let value = try body(server)
        server.signal(SIGCONT)
        // A session writes its line before it closes its connection, but a client can
        // exit the moment it has its results, before that line: stopping the server
        // then lost it (an iperf3 -R run in `make test`). Once the server holds no
        // connection, every probe the body made is in the log.
        awaitNoConnections(in: nsB, port: Self.probePort, within: 5)
        server.terminate()
        stopped = true
        let log = try server.wait().stdout.split(separator: "\n").compactMap {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        return (value, log)
    }
}
