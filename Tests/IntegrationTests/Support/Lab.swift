import Foundation

/// Two network namespaces joined by a veth pair, made by `lab/nslab` (the same
/// script the demo and the benchmarks use) and always deleted.
struct Lab {
    let id: String
    let nsA: String
    let nsB: String
    let ifA: String
    let ifB: String
    let addrA: String
    let addrB: String

    /// Creates a lab, runs `body`, and deletes the lab whatever happens. With
    /// `delay`, the namespaces are joined by nettune-delayline instead of a veth.
    static func with<T>(
        rateA: String? = nil, rateB: String? = nil, mtu: Int? = nil,
        delay: String? = nil, loss: String? = nil, seed: Int? = nil,
        _ body: (Lab) throws -> T
    ) throws -> T {
        var arguments = [TestEnvironment.labScript, "up"]
        if let rateA { arguments += ["--rate-a", rateA] }
        if let rateB { arguments += ["--rate-b", rateB] }
        if let mtu { arguments += ["--mtu", String(mtu)] }
        if let delay { arguments += ["--delay", delay] }
        if let loss { arguments += ["--loss", loss] }
        if let seed { arguments += ["--seed", String(seed)] }
        let up = try Command.run(arguments, environment: TestEnvironment.labEnvironment)
        guard up.succeeded else { throw CommandFailure(arguments: arguments, result: up) }
        let output = up.stdout
        var vars: [String: String] = [:]
        for line in output.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { vars[parts[0]] = parts[1] }
        }
        guard let id = vars["NSLAB_ID"] else {
            throw CommandFailure(arguments: arguments, result: .init(status: 0, stdout: output, stderr: "no NSLAB_ID"))
        }
        defer { _ = try? Command.run([TestEnvironment.labScript, "down", id]) }
        let lab = Lab(
            id: id, nsA: vars["NSLAB_NS_A", default: ""], nsB: vars["NSLAB_NS_B", default: ""],
            ifA: vars["NSLAB_IF_A", default: ""], ifB: vars["NSLAB_IF_B", default: ""],
            addrA: vars["NSLAB_ADDR_A", default: ""], addrB: vars["NSLAB_ADDR_B", default: ""])
        return try body(lab)
    }

    /// Runs a command inside namespace `ns`.
    func run(in ns: String, _ arguments: [String]) throws -> CommandResult {
        try Command.run(["ip", "netns", "exec", ns] + arguments, environment: TestEnvironment.isolatedEnvironment)
    }

    @discardableResult
    func check(in ns: String, _ arguments: [String]) throws -> String {
        try Command.check(["ip", "netns", "exec", ns] + arguments)
    }

    /// `nettune ARGS` inside namespace `ns`.
    func nettune(in ns: String, _ arguments: [String]) throws -> CommandResult {
        try run(in: ns, [TestEnvironment.binary] + arguments)
    }

    /// A sysctl as the kernel holds it in `ns`, single-spaced.
    func sysctl(in ns: String, _ path: String) throws -> String {
        let raw = try check(in: ns, ["cat", "/proc/sys/" + path])
        return raw.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).joined(separator: " ")
    }

    /// `ip -d -j link show DEV` in `ns`, decoded.
    func linkDetails(in ns: String, _ device: String) throws -> [String: Any] {
        let json = try check(in: ns, ["ip", "-d", "-j", "link", "show", "dev", device])
        let array = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]]
        return array?.first ?? [:]
    }
}
