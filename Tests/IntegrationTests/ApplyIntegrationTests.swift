import Foundation
import NetTune
import Testing

/// apply / revert / verify run for real in throw-away namespaces; every assertion
/// reads the kernel (`/proc/sys` and `ip -j link` inside the namespace).
@Suite(.enabled(if: TestEnvironment.isRoot, TestEnvironment.rootReason))
struct ApplyIntegrationTests {
    static let tuned = """
        version = 1
        description = "integration test"
        [sysctl]
        net.ipv4.tcp_wmem = "4096 65536 8388608"
        net.ipv4.tcp_rmem = "4096 262144 8388608"
        [link]
        mtu = 9000
        """

    private func mtu(_ lab: Lab, _ ns: String, _ device: String) throws -> Int? {
        try lab.linkDetails(in: ns, device)["mtu"] as? Int
    }

    @Test func applyThenRevertRestoresExactlyTheOriginals() throws {
        try Scratch.with { scratch in
            try scratch.write("tuned.toml", Self.tuned)
            try Lab.with { lab in
                let before = (try lab.sysctl(in: lab.nsA, "net/ipv4/tcp_wmem"), try lab.sysctl(in: lab.nsA, "net/ipv4/tcp_rmem"))
                let common = ["--profiles", scratch.path, "--state-dir", scratch.path + "/state"]

                let dry = try lab.nettune(in: lab.nsA, ["apply", "tuned", "--dry-run"] + common)
                #expect(dry.status == 0, "\(dry.stderr)")
                #expect(dry.stdout.contains("Dry run"))
                #expect(try lab.sysctl(in: lab.nsA, "net/ipv4/tcp_wmem") == before.0)
                #expect(!scratch.exists("state"))

                let applied = try lab.nettune(in: lab.nsA, ["apply", "tuned"] + common)
                #expect(applied.status == 0, "\(applied.stderr)")
                #expect(try lab.sysctl(in: lab.nsA, "net/ipv4/tcp_wmem") == "4096 65536 8388608")
                #expect(try lab.sysctl(in: lab.nsA, "net/ipv4/tcp_rmem") == "4096 262144 8388608")
                // The MTU goes to the default-route interface: the lab's veth.
                #expect(try mtu(lab, lab.nsA, lab.ifA) == 9000)
                // Only that namespace changed.
                #expect(try lab.sysctl(in: lab.nsB, "net/ipv4/tcp_wmem") == before.0)
                #expect(try mtu(lab, lab.nsB, lab.ifB) == 1500)

                let verify = try lab.nettune(in: lab.nsA, ["verify", "tuned", "--profiles", scratch.path])
                #expect(verify.status == 0, "\(verify.stdout)")

                let reverted = try lab.nettune(in: lab.nsA, ["revert", "--json", "--state-dir", scratch.path + "/state"])
                #expect(reverted.status == 0, "\(reverted.stderr)")
                #expect(try lab.sysctl(in: lab.nsA, "net/ipv4/tcp_wmem") == before.0)
                #expect(try lab.sysctl(in: lab.nsA, "net/ipv4/tcp_rmem") == before.1)
                #expect(try mtu(lab, lab.nsA, lab.ifA) == 1500)
                #expect(scratch.stateFiles(in: "state").isEmpty)

                let differs = try lab.nettune(in: lab.nsA, ["verify", "tuned", "--profiles", scratch.path])
                #expect(differs.status == 1)
                #expect(differs.stdout.contains("DIFFERS  net.ipv4.tcp_wmem"))

                let again = try lab.nettune(in: lab.nsA, ["revert", "--state-dir", scratch.path + "/state"])
                #expect(again.status != 0)
                #expect(again.stderr.contains("no snapshot for this network namespace"))
            }
        }
    }

    /// The second step fails in the kernel (a macvlan accepts no MTU above its
    /// lower device's, though it reports 65535 as its maximum): the first is undone.
    @Test func aStepTheKernelRefusesLeavesNothingChanged() throws {
        try Scratch.with { scratch in
            try scratch.write(
                "bad.toml",
                """
                version = 1
                description = "second step fails"
                [sysctl]
                net.ipv4.tcp_wmem = "4096 65536 8388608"
                [link]
                mtu = 9000
                """)
            try Lab.with { lab in
                try lab.check(in: lab.nsA, ["ip", "link", "add", "link", lab.ifA, "name", "mv0", "type", "macvlan"])
                let before = try lab.sysctl(in: lab.nsA, "net/ipv4/tcp_wmem")
                let result = try lab.nettune(
                    in: lab.nsA,
                    [
                        "apply", "bad", "--interface", "mv0", "--profiles", scratch.path,
                        "--state-dir", scratch.path + "/state"
                    ])
                #expect(result.status != 0)
                #expect(result.stderr.contains("setting mtu of mv0 to 9000 failed"))
                #expect(result.stderr.contains("the 1 change made before it was undone, nothing is changed"))
                #expect(try lab.sysctl(in: lab.nsA, "net/ipv4/tcp_wmem") == before)
                #expect(try mtu(lab, lab.nsA, "mv0") == 1500)
                #expect(scratch.stateFiles(in: "state").isEmpty)
            }
        }
    }

    @Test func anMTUAboveTheDeviceMaximumIsRefusedBeforeAnyWrite() throws {
        try Scratch.with { scratch in
            try scratch.write(
                "huge.toml", "version = 1\ndescription = \"x\"\n[sysctl]\nnet.ipv4.tcp_wmem = \"4096 65536 8388608\"\n[link]\nmtu = 70000\n")
            try Lab.with { lab in
                let before = try lab.sysctl(in: lab.nsA, "net/ipv4/tcp_wmem")
                let result = try lab.nettune(in: lab.nsA, ["apply", scratch.path + "/huge.toml", "--state-dir", scratch.path + "/state"])
                #expect(result.status != 0)
                #expect(result.stderr.contains("huge.toml:6: link.mtu: 70000 is not an MTU between 68 and 65535"))
                #expect(try lab.sysctl(in: lab.nsA, "net/ipv4/tcp_wmem") == before)
            }
        }
    }

    /// Loopback's MTU is 65536, above what a profile may set: applying an MTU to it
    /// and reverting puts 65536 back (the snapshot once refused it as damaged).
    @Test func loopbacksMTUIsRestoredByRevert() throws {
        try Scratch.with { scratch in
            try Lab.with { lab in
                let state = ["--state-dir", scratch.path + "/state"]
                #expect(try mtu(lab, lab.nsA, "lo") == 65536)
                let applied = try lab.nettune(in: lab.nsA, ["apply", "jumbo", "--interface", "lo"] + state)
                #expect(applied.status == 0, "\(applied.stderr)")
                #expect(try mtu(lab, lab.nsA, "lo") == 9000)
                let reverted = try lab.nettune(in: lab.nsA, ["revert"] + state)
                #expect(reverted.status == 0, "\(reverted.stderr)")
                #expect(try mtu(lab, lab.nsA, "lo") == 65536)
            }
        }
    }

    @Test func withoutPrivilegesApplyExplainsAndChangesNothing() throws {
        try Scratch.with { scratch in
            try scratch.write("tuned.toml", Self.tuned)
            try FileManager.default.copyItem(atPath: TestEnvironment.binary, toPath: scratch.path + "/nettune")
            try Lab.with { lab in
                let before = try lab.sysctl(in: lab.nsA, "net/ipv4/tcp_wmem")
                let result = try lab.run(
                    in: lab.nsA,
                    [
                        "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
                        scratch.path + "/nettune", "apply", "tuned", "--profiles", scratch.path, "--state-dir", scratch.path + "/state"
                    ])
                #expect(result.status != 0)
                #expect(result.stderr.contains("applying profile 'tuned' needs root (CAP_NET_ADMIN) — run with sudo; nothing was changed"))
                #expect(try lab.sysctl(in: lab.nsA, "net/ipv4/tcp_wmem") == before)
                #expect(try mtu(lab, lab.nsA, lab.ifA) == 1500)
                #expect(!scratch.exists("state"))
            }
        }
    }

    /// A profile another user owns or can write decides what root writes: refused
    /// before anything changes, as is a snapshot someone else planted for revert.
    @Test func filesOthersControlAreNeitherAppliedNorRestored() throws {
        try Scratch.with { scratch in
            try scratch.write("writable.toml", Self.tuned)
            try scratch.write("foreign.toml", Self.tuned)
            #expect(chmod(scratch.path + "/writable.toml", 0o666) == 0)
            #expect(chown(scratch.path + "/foreign.toml", 65534, 65534) == 0)
            try Lab.with { lab in
                let before = try lab.sysctl(in: lab.nsA, "net/ipv4/tcp_wmem")
                let state = scratch.path + "/state"
                let writable = try lab.nettune(in: lab.nsA, ["apply", scratch.path + "/writable.toml", "--state-dir", state])
                #expect(writable.status == 1)
                #expect(writable.stderr.contains("others can write it (mode 0666)"), "\(writable.stderr)")
                #expect(writable.stderr.contains("chmod go-w \(scratch.path)/writable.toml"))
                let foreign = try lab.nettune(in: lab.nsA, ["try", "foreign", "--profiles", scratch.path, "--state-dir", state])
                #expect(foreign.status == 1)
                #expect(foreign.stderr.contains("it belongs to nobody (uid 65534)"), "\(foreign.stderr)")
                #expect(try lab.sysctl(in: lab.nsA, "net/ipv4/tcp_wmem") == before)
                #expect(try mtu(lab, lab.nsA, lab.ifA) == 1500)
                #expect(!scratch.exists("state"))

                // A real snapshot, then handed to another user: revert will not use it.
                #expect(chmod(scratch.path + "/writable.toml", 0o644) == 0)
                let applied = try lab.nettune(in: lab.nsA, ["apply", scratch.path + "/writable.toml", "--state-dir", state])
                #expect(applied.status == 0, "\(applied.stderr)")
                let snapshot = try #require(scratch.stateFiles(in: "state").first)
                #expect(chown(state + "/" + snapshot, 65534, 65534) == 0)
                let refused = try lab.nettune(in: lab.nsA, ["revert", "--state-dir", state])
                #expect(refused.status == 1)
                #expect(refused.stderr.contains("the snapshot is not used: it belongs to nobody (uid 65534)"), "\(refused.stderr)")
                #expect(try lab.sysctl(in: lab.nsA, "net/ipv4/tcp_wmem") == "4096 65536 8388608")
                #expect(chown(state + "/" + snapshot, 0, 0) == 0)
                #expect(try lab.nettune(in: lab.nsA, ["revert", "--state-dir", state]).status == 0)
                #expect(try lab.sysctl(in: lab.nsA, "net/ipv4/tcp_wmem") == before)
            }
        }
    }

    @Test func twoNamespacesApplyingAtOnceKeepSeparateSnapshots() throws {
        try Scratch.with { scratch in
            try scratch.write("tuned.toml", Self.tuned)
            try Lab.with { lab in
                let original = try lab.sysctl(in: lab.nsA, "net/ipv4/tcp_wmem")
                let state = scratch.path + "/state"
                // Two processes at the same time, each in its own namespace.
                let results = ResultBox()
                DispatchQueue.concurrentPerform(iterations: 2) { i in
                    let (ns, profile) = i == 0 ? (lab.nsA, "tuned") : (lab.nsB, "low-memory")
                    results.set(i, try? lab.nettune(in: ns, ["apply", profile, "--profiles", scratch.path, "--state-dir", state]))
                }
                #expect(results[0]?.status == 0, "\(results[0]?.stderr ?? "")")
                #expect(results[1]?.status == 0, "\(results[1]?.stderr ?? "")")
                #expect(scratch.stateFiles(in: "state").count == 2)
                #expect(try lab.sysctl(in: lab.nsB, "net/ipv4/tcp_wmem") == "4096 16384 1048576")

                #expect(try lab.nettune(in: lab.nsB, ["revert", "--state-dir", state]).status == 0)
                #expect(try lab.sysctl(in: lab.nsB, "net/ipv4/tcp_wmem") == original)
                // A's change and snapshot are untouched by B's revert.
                #expect(try lab.sysctl(in: lab.nsA, "net/ipv4/tcp_wmem") == "4096 65536 8388608")
                #expect(scratch.stateFiles(in: "state").count == 1)
                #expect(try lab.nettune(in: lab.nsA, ["revert", "--state-dir", state]).status == 0)
                #expect(try lab.sysctl(in: lab.nsA, "net/ipv4/tcp_wmem") == original)
            }
        }
    }

    /// The kernel reuses a deleted namespace's inode, so a snapshot left by one (a
    /// container stopped without `revert`) was taken as the next one's: `revert`
    /// wrote the old namespace's originals into it. Simulated here by giving B a copy
    /// of A's snapshot under B's inode, as a reused inode would.
    @Test func aSnapshotFromAnEarlierNamespaceWithTheSameInodeIsNotRestored() throws {
        try Scratch.with { scratch in
            try scratch.write("tuned.toml", Self.tuned)
            try Lab.with { lab in
                let state = scratch.path + "/state"
                #expect(try lab.nettune(in: lab.nsA, ["apply", "tuned", "--profiles", scratch.path, "--state-dir", state]).status == 0)
                let inodeA = try #require(NetworkNamespace.inode(of: NetworkNamespace.path(named: lab.nsA)))
                let inodeB = try #require(NetworkNamespace.inode(of: NetworkNamespace.path(named: lab.nsB)))
                let snapshotA = try String(contentsOfFile: "\(state)/netns-\(inodeA).json", encoding: .utf8)
                #expect(snapshotA.contains("\"netns_cookie\""), "\(snapshotA)")
                try scratch.write(
                    "state/netns-\(inodeB).json",
                    snapshotA.replacingOccurrences(of: "\"netns_inode\" : \(inodeA)", with: "\"netns_inode\" : \(inodeB)"))
                let wmemB = try lab.sysctl(in: lab.nsB, "net/ipv4/tcp_wmem")

                let dry = try lab.nettune(in: lab.nsB, ["revert", "--dry-run", "--state-dir", state])
                #expect(dry.status == 1)
                #expect(dry.stderr.contains("was taken in an earlier network namespace that had this one's inode"), "\(dry.stderr)")
                let plan = try lab.nettune(in: lab.nsB, ["apply", "low-memory", "--dry-run", "--state-dir", state])
                #expect(plan.stderr.contains("set aside; this apply records the present values"), "\(plan.stderr)")
                let revert = try lab.nettune(in: lab.nsB, ["revert", "--if-applied", "--state-dir", state])
                #expect(revert.status == 0, "\(revert.stderr)")
                #expect(revert.stderr.contains("there is nothing to restore; it was removed"), "\(revert.stderr)")
                #expect(try lab.sysctl(in: lab.nsB, "net/ipv4/tcp_wmem") == wmemB)
                #expect(!scratch.exists("state/netns-\(inodeB).json"))

                #expect(try lab.nettune(in: lab.nsA, ["revert", "--state-dir", state]).status == 0, "A's own snapshot still restores")
            }
        }
    }

    @Test func profilesListsTheSixShippedProfiles() throws {
        let result = try Command.run([TestEnvironment.binary, "profiles", "--json"])
        #expect(result.status == 0)
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
        for name in ["kernel-default", "pi-lan", "pi-wifi", "jumbo", "high-bdp", "low-memory"] {
            let entry = entries.first { $0["name"] as? String == name && $0["origin"] as? String == "shipped" }
            #expect(entry != nil, "\(name) not listed")
            #expect((entry?["description"] as? String)?.isEmpty == false)
        }
    }
}

/// Results written from concurrent work, guarded by a lock.
final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [Int: CommandResult] = [:]

    func set(_ index: Int, _ value: CommandResult?) {
        lock.lock()
        defer { lock.unlock() }
        values[index] = value
    }

    subscript(index: Int) -> CommandResult? {
        lock.lock()
        defer { lock.unlock() }
        return values[index]
    }
}
