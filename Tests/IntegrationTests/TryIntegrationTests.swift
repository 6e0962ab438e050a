import Foundation
import TerminalTesting
import Testing

/// `nettune try`: the change is taken back unless confirmed, on a signal, or when
/// the peer stops answering. Checked against the kernel's MTU in the namespace.
@Suite(.enabled(if: TestEnvironment.isRoot, TestEnvironment.rootReason))
struct TryIntegrationTests {
    private func mtu(_ lab: Lab) throws -> Int? {
        try lab.linkDetails(in: lab.nsA, lab.ifA)["mtu"] as? Int
    }

    private func sleep(_ seconds: Double) {
        Thread.sleep(forTimeInterval: seconds)
    }

    /// Polls until `condition` holds or `seconds` pass.
    private func eventually(_ seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            sleep(0.05)
        }
        return try condition()
    }

    @Test func withoutConfirmationItRevertsAfterTheTimeout() throws {
        try Scratch.with { scratch in
            try Lab.with { lab in
                let started = Date()
                let result = try lab.nettune(in: lab.nsA, ["try", "jumbo", "--timeout", "1s", "--state-dir", scratch.path])
                #expect(result.status == 1)
                #expect(result.stderr.contains("not confirmed within 1 s: reverted"))
                #expect(Date().timeIntervalSince(started) >= 1)
                #expect(try mtu(lab) == 1500)
                #expect(scratch.stateFiles(in: ".").isEmpty, "no snapshot, marker or confirmation left: \(scratch.stateFiles(in: "."))")
            }
        }
    }

    @Test func confirmFromAnotherShellKeepsIt() throws {
        try Scratch.with { scratch in
            try Lab.with { lab in
                let trying = try Command.start([
                    "ip", "netns", "exec", lab.nsA, TestEnvironment.binary,
                    "try", "jumbo", "--timeout", "20s", "--state-dir", scratch.path
                ])
                #expect(try eventually(10) { try mtu(lab) == 9000 })
                var confirmed = try lab.nettune(in: lab.nsA, ["confirm", "--state-dir", scratch.path])
                // The marker appears just after the apply: retry briefly.
                for _ in 0..<20 where confirmed.status != 0 {
                    sleep(0.1)
                    confirmed = try lab.nettune(in: lab.nsA, ["confirm", "--state-dir", scratch.path])
                }
                #expect(confirmed.status == 0, "\(confirmed.stderr)")
                let result = try trying.wait()
                #expect(result.status == 0, "\(result.stderr)")
                #expect(try mtu(lab) == 9000)
                // Kept like an apply: it says where the snapshot is, and revert still works.
                #expect(result.stdout.contains("`nettune revert` restores the earlier values (snapshot: \(scratch.path)/netns-"), "\(result.stdout)")
                #expect(try lab.nettune(in: lab.nsA, ["revert", "--state-dir", scratch.path]).status == 0)
                #expect(try mtu(lab) == 1500)
            }
        }
    }

    @Test func confirmWithNothingWaitingFails() throws {
        try Scratch.with { scratch in
            try Lab.with { lab in
                let result = try lab.nettune(in: lab.nsA, ["confirm", "--state-dir", scratch.path])
                #expect(result.status != 0)
                #expect(result.stderr.contains("no `nettune try` is waiting"))
            }
        }
    }

    /// SIGQUIT too: Ctrl-\ killed `try` at once (with a core), leaving the profile applied.
    @Test(arguments: [SIGTERM, SIGHUP, SIGQUIT])
    func aSignalWhileWaitingReverts(signal: Int32) throws {
        try Scratch.with { scratch in
            try Lab.with { lab in
                let trying = try Command.start([
                    "ip", "netns", "exec", lab.nsA, TestEnvironment.binary,
                    "try", "jumbo", "--timeout", "60s", "--state-dir", scratch.path
                ])
                #expect(try eventually(10) { try mtu(lab) == 9000 })
                trying.signal(signal)
                let result = try trying.wait()
                #expect(result.status == 128 + signal)
                #expect(result.stderr.contains("reverted"))
                #expect(try mtu(lab) == 1500)
            }
        }
    }

    /// A terminal stopped with Ctrl-S blocked the countdown's next line: the
    /// timeout never came and SIGTERM did not end the write, so the profile stayed
    /// until someone pressed Ctrl-Q. Neither waits for the terminal now.
    @Test(arguments: [nil, SIGTERM] as [Int32?])
    func aStoppedTerminalDoesNotHoldUpTheRevert(signal: Int32?) throws {
        try Scratch.with { scratch in
            try Lab.with { lab in
                let terminal = try PseudoTerminal()
                try terminal.stopOutput()
                let trying = try Command.start(
                    [
                        "ip", "netns", "exec", lab.nsA, TestEnvironment.binary,
                        "try", "jumbo", "--timeout", signal == nil ? "2s" : "60s", "--state-dir", scratch.path
                    ], standardError: terminal.handle)
                #expect(try eventually(10) { try mtu(lab) == 9000 })
                if let signal { trying.signal(signal) }
                let reverted = try eventually(10) { try mtu(lab) == 1500 }
                #expect(reverted, "the profile stayed applied while the terminal was stopped")
                #expect(eventually(10) { trying.hasExited })
                // Whatever happened, let it finish: what it still had to say comes out.
                terminal.resumeOutput()
                let screen = terminal.read(for: 1)
                let result = try trying.wait()
                #expect(result.status == (signal.map { 128 + $0 } ?? 1), "\(screen)")
                #expect(result.stdout.contains("The changes were undone"), "\(result.stdout)")
            }
        }
    }

    /// Enter on the terminal keeps the profile (`setsid -c`: the terminal is the
    /// program's own, and it is in the foreground).
    @Test func enterOnTheTerminalKeepsIt() throws {
        try Scratch.with { scratch in
            try Lab.with { lab in
                let terminal = try PseudoTerminal()
                let trying = try Command.start(
                    [
                        "setsid", "-c", "ip", "netns", "exec", lab.nsA, TestEnvironment.binary,
                        "try", "jumbo", "--timeout", "30s", "--state-dir", scratch.path
                    ], terminal: terminal)
                #expect(terminal.read(for: 10, until: "Press Enter").contains("Press Enter"))
                terminal.type("\n")
                #expect(terminal.read(for: 10, until: "the profile stays").contains("confirmed (Enter): the profile stays"))
                #expect(try trying.wait().status == 0)
                #expect(try mtu(lab) == 9000)
                #expect(try lab.nettune(in: lab.nsA, ["revert", "--state-dir", scratch.path]).status == 0)
            }
        }
    }

    /// `try … &` from an interactive shell: the next line typed for the shell woke
    /// the `try`, whose read of the terminal stopped it (SIGTTIN, "Stopped (tty
    /// input)") with the profile applied until `fg`. In the background it leaves the
    /// terminal to the shell and reverts on time.
    @Test func inTheBackgroundItRevertsOnTime() throws {
        try Scratch.with { scratch in
            try Lab.with { lab in
                let terminal = try PseudoTerminal()
                let shell = try Command.start(["setsid", "-c", "bash", "--norc", "--noprofile", "-i"], terminal: terminal)
                defer {
                    terminal.type("exit\n")
                    _ = try? shell.wait()
                }
                terminal.type(
                    "ip netns exec \(lab.nsA) \(TestEnvironment.binary) try jumbo --timeout 3s --state-dir \(scratch.path) &\n")
                #expect(try eventually(10) { try mtu(lab) == 9000 })
                terminal.type("echo typed for the shell\n")
                let reverted = try eventually(10) { try mtu(lab) == 1500 }
                #expect(reverted, "the background try kept its profile: \(terminal.read(for: 1))")
                terminal.type("wait $!; echo \"try exited $?\"\n")
                #expect(terminal.read(for: 10, until: "try exited 1").contains("not confirmed within 3 s: reverted"), "\(terminal.text)")
                #expect(terminal.text.contains("try exited 1"), "\(terminal.text)")
                #expect(!terminal.text.contains("Stopped"), "\(terminal.text)")
            }
        }
    }

    /// `try --peer NAME` with a name server that never answers: the lookup came
    /// after the apply, and getaddrinfo waited as resolv.conf allowed (a minute
    /// here), through SIGTERM, with the profile applied. Now the name is looked up
    /// first, within 10 s, and a signal ends that at once; nothing is changed.
    @Test(arguments: [nil, SIGTERM] as [Int32?])
    func aNameServerThatDoesNotAnswerChangesNothing(signal: Int32?) throws {
        try Scratch.with { scratch in
            try Lab.with { lab in
                // Takes every query and answers none.
                let silent = """
                    import socket, sys, time
                    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 53))
                    s.recv(512); print("asked", flush=True)
                    time.sleep(120)
                    """
                let server = try Command.start(["ip", "netns", "exec", lab.nsB, "python3", "-c", silent])
                defer {
                    server.kill()
                    _ = try? server.wait()
                }
                #expect(try eventually(10) { try lab.run(in: lab.nsB, ["ss", "-Hlun", "sport = :53"]).stdout.contains(":53") })
                try scratch.write("resolv.conf", "nameserver \(lab.addrB)\noptions timeout:30 attempts:2\n")
                // resolv.conf replaced in a mount namespace of the command's own: the host's stays.
                let script = #"mount --bind "$1" /etc/resolv.conf && exec "$0" try jumbo --timeout 60s --peer silent.example:9000 --state-dir "$2""#
                let started = Date()
                let trying = try Command.start([
                    "ip", "netns", "exec", lab.nsA, "unshare", "--mount", "--propagation", "private", "sh", "-c", script,
                    TestEnvironment.binary, scratch.path + "/resolv.conf", scratch.path + "/state"
                ])
                var signalled: Date?
                if let signal {
                    // While the name server is being asked.
                    #expect(eventually(10) { server.stdoutSoFar.contains("asked") })
                    trying.signal(signal)
                    signalled = Date()
                }
                let result = try trying.wait()
                let took = Date().timeIntervalSince(signalled ?? started)
                if let signal {
                    #expect(result.status == 128 + signal, "\(result.stderr)")
                    #expect(took < 2, "\(took) s after the signal")
                } else {
                    #expect(result.status == 1)
                    #expect(result.stderr.contains("no answer from the name servers within 10 s"), "\(result.stderr)")
                    #expect(result.stderr.contains("nothing was changed"), "\(result.stderr)")
                    #expect(took < 20, "\(took) s")
                }
                #expect(try mtu(lab) == 1500)
            }
        }
    }

    /// SIGKILL cannot be caught: the profile stays. The next command under the lock
    /// says so, and `confirm` keeps it knowingly instead of "nothing is waiting".
    @Test func aTryKilledWhileWaitingIsNamedAfterwards() throws {
        try Scratch.with { scratch in
            try Lab.with { lab in
                /// `try PROFILE`, SIGKILLed once it waits.
                func killWhileWaiting(_ profile: String) throws {
                    let trying = try Command.start([
                        "ip", "netns", "exec", lab.nsA, TestEnvironment.binary,
                        "try", profile, "--timeout", "60s", "--state-dir", scratch.path
                    ])
                    #expect(eventually(10) { trying.stderrSoFar.contains("nettune confirm") })
                    trying.kill()
                    _ = try trying.wait()
                }
                try killWhileWaiting("jumbo")
                #expect(try mtu(lab) == 9000)
                let again = try lab.nettune(in: lab.nsA, ["try", "jumbo", "--timeout", "5s", "--state-dir", scratch.path])
                #expect(again.stderr.contains("ended before its time was up (killed?) and did not revert"), "\(again.stderr)")
                #expect(again.stdout.contains("Nothing to change"))

                try killWhileWaiting("pi-lan")
                let confirm = try lab.nettune(in: lab.nsA, ["confirm", "--state-dir", scratch.path])
                #expect(confirm.status == 0, "\(confirm.stderr)")
                #expect(confirm.stdout.contains("kept: `nettune try`"))
                #expect(try lab.nettune(in: lab.nsA, ["revert", "--state-dir", scratch.path]).status == 0)
                #expect(try mtu(lab) == 1500)
            }
        }
    }

    @Test func aPeerThatDoesNotAnswerRevertsAtOnce() throws {
        try Scratch.with { scratch in
            try Lab.with { lab in
                let started = Date()
                // Port 9 (discard) has no listener in the lab: connection refused.
                let result = try lab.nettune(
                    in: lab.nsA,
                    [
                        "try", "jumbo", "--timeout", "60s", "--peer", "\(lab.addrB):9",
                        "--state-dir", scratch.path
                    ])
                #expect(result.status == 1)
                #expect(result.stderr.contains("refused the connection"))
                #expect(result.stderr.contains("reverted: the peer check failed"))
                #expect(Date().timeIntervalSince(started) < 30)
                #expect(try mtu(lab) == 1500)
            }
        }
    }

    @Test func aPeerThatCarriesTheNewMTUPassesTheCheck() throws {
        try Scratch.with { scratch in
            try Lab.with { lab in
                // The peer's side takes jumbo frames too: the path carries 9000.
                try lab.check(in: lab.nsB, ["ip", "link", "set", "dev", lab.ifB, "mtu", "9000"])
                let result = try lab.withServer {
                    try lab.nettune(
                        in: lab.nsA,
                        [
                            "try", "jumbo", "--timeout", "1s", "--peer", "\(lab.addrB):9000",
                            "--state-dir", scratch.path
                        ])
                }.value
                #expect(result.stderr.contains("peer \(lab.addrB):9000 answered: 4 MiB probed"), "\(result.stderr)")
                #expect(result.stderr.contains("9000-byte don't-fragment packets get through"), "\(result.stderr)")
                // Not confirmed, so reverted after the timeout — but the peer check passed.
                #expect(result.stderr.contains("not confirmed within 1 s"))
                #expect(result.status == 1)
                #expect(try mtu(lab) == 1500)
            }
        }
    }

    /// The case `try jumbo` exists for: MTU 9000 into a link that carries 1500.
    /// TCP still connects and moves data (each end's MSS follows its own MTU); only
    /// full-sized don't-fragment packets show the black hole.
    @Test func anMTUBlackHoleIsCaughtAndReverted() throws {
        try Scratch.with { scratch in
            try Lab.with { lab in
                let started = Date()
                let result = try lab.withServer {
                    try lab.nettune(
                        in: lab.nsA,
                        [
                            "try", "jumbo", "--timeout", "60s", "--peer", "\(lab.addrB):9000",
                            "--state-dir", scratch.path
                        ])
                }.value
                #expect(result.status == 1, "\(result.stderr)")
                #expect(result.stderr.contains("9000-byte packets with don't-fragment set do not reach \(lab.addrB)"), "\(result.stderr)")
                #expect(result.stderr.contains("reverted: the peer check failed"))
                #expect(Date().timeIntervalSince(started) < 30)
                #expect(try mtu(lab) == 1500)
                #expect(scratch.stateFiles(in: ".").isEmpty)
            }
        }
    }

    /// A peer that stops reading (SIGSTOP): the check gives up at its reply timeout
    /// instead of hanging with the profile applied.
    @Test func aStoppedPeerRevertsAtTheCheckTimeout() throws {
        try Scratch.with { scratch in
            try Lab.with { lab in
                _ = try lab.withServer { server in
                    server.signal(SIGSTOP)
                    let started = Date()
                    let result = try lab.nettune(
                        in: lab.nsA,
                        [
                            "try", "jumbo", "--timeout", "120s", "--peer", "\(lab.addrB):9000",
                            "--state-dir", scratch.path
                        ])
                    #expect(result.status == 1, "\(result.stderr)")
                    #expect(result.stderr.contains("no answer from \(lab.addrB):9000 within the time allowed"), "\(result.stderr)")
                    #expect(Date().timeIntervalSince(started) < 40)
                    #expect(try mtu(lab) == 1500)
                }
            }
        }
    }

    /// Ctrl-C while the peer check is stuck on a stopped peer reverts at once.
    @Test func ctrlCDuringAStalledPeerCheckRevertsAtOnce() throws {
        try Scratch.with { scratch in
            try Lab.with { lab in
                _ = try lab.withServer { server in
                    server.signal(SIGSTOP)
                    let trying = try Command.start([
                        "ip", "netns", "exec", lab.nsA, TestEnvironment.binary, "try", "jumbo",
                        "--timeout", "120s", "--peer", "\(lab.addrB):9000",
                        "--state-dir", scratch.path
                    ])
                    #expect(try eventually(10) { try mtu(lab) == 9000 })
                    let interrupted = Date()
                    trying.interrupt()
                    let result = try trying.wait()
                    #expect(Date().timeIntervalSince(interrupted) < 3)
                    #expect(result.status == 130, "\(result.stderr)")
                    #expect(result.stderr.contains("interrupted (SIGINT): reverted"), "\(result.stderr)")
                    #expect(try mtu(lab) == 1500)
                }
            }
        }
    }

    /// The plan is on the screen before the question is asked.
    @Test func thePlanIsPrintedBeforeTheWait() throws {
        try Scratch.with { scratch in
            try Lab.with { lab in
                let result = try lab.nettune(in: lab.nsA, ["try", "jumbo", "--timeout", "1s", "--state-dir", scratch.path])
                let plan = try #require(result.stderr.range(of: "Trying profile jumbo: 1 change"))
                let question = try #require(result.stderr.range(of: "within 1 s to keep it"))
                #expect(plan.upperBound <= question.lowerBound)
                #expect(result.stderr.contains("mtu of \(lab.ifA)  1500  →  9000"))
            }
        }
    }

    /// `confirm` racing the timeout: whoever marks the record first decides, and
    /// the two never disagree about the outcome.
    @Test func confirmRacingTheTimeoutNeverContradictsTry() throws {
        try Scratch.with { scratch in
            try Lab.with { lab in
                for _ in 0..<3 {
                    let trying = try Command.start([
                        "ip", "netns", "exec", lab.nsA, TestEnvironment.binary, "try", "jumbo",
                        "--timeout", "1s", "--state-dir", scratch.path
                    ])
                    #expect(try eventually(10) { try mtu(lab) == 9000 })
                    // Confirm as late as possible: keep trying until try is gone.
                    var confirmedKept = false
                    var lastConfirm: CommandResult?
                    while try mtu(lab) == 9000 && !confirmedKept {
                        let confirm = try lab.nettune(in: lab.nsA, ["confirm", "--state-dir", scratch.path])
                        if confirm.status == 0 { confirmedKept = true }
                        lastConfirm = confirm
                        if trying.hasExited { break }
                    }
                    let result = try trying.wait()
                    if confirmedKept {
                        #expect(result.status == 0, "confirm said kept, try said: \(result.stderr)")
                        #expect(try mtu(lab) == 9000)
                        #expect(try lab.nettune(in: lab.nsA, ["revert", "--state-dir", scratch.path]).status == 0)
                    } else {
                        #expect(result.status == 1, "\(result.stderr)")
                        #expect(try mtu(lab) == 1500)
                        if let lastConfirm {
                            #expect(
                                lastConfirm.stderr.contains("too late") || lastConfirm.stderr.contains("no `nettune try` is waiting"),
                                "\(lastConfirm.stderr)")
                        }
                    }
                }
            }
        }
    }
}
