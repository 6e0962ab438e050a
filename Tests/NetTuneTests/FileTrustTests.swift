import Foundation
import SystemPackage
import Testing

@testable import NetTune

/// Files whose contents nettune acts on as root: only root's, the running user's or
/// the sudo user's, and writable by no one else.
@Suite struct FileTrustTests {
    private let profileText = "version = 1\ndescription = \"wan\"\n[sysctl]\nnet.ipv4.tcp_wmem = \"4096 16384 4194304\"\n"

    @Test func ownersAreRootTheUserAndUnderSudoTheInvokingUser() {
        #expect(FileTrust.forProcess(effectiveUser: 0, environment: ["SUDO_UID": "1000"]).owners == [0, 1000])
        #expect(FileTrust.forProcess(effectiveUser: 0, environment: [:]).owners == [0])
        // SUDO_UID means something only to a process sudo made root.
        #expect(FileTrust.forProcess(effectiveUser: 1001, environment: ["SUDO_UID": "1000"]).owners == [0, 1001])
        #expect(FileTrust.forProcess(effectiveUser: 0, environment: ["SUDO_UID": "alice"]).owners == [0])
        // Whoever owns the binary could change nettune itself: their checkout, run by root through su.
        #expect(FileTrust.forProcess(effectiveUser: 0, environment: [:], binaryOwner: 1002).owners == [0, 1002])
        #expect(FileTrust.forThisProcess().owners.contains(geteuid()))
    }

    @Test func aFileOthersCanWriteOrAnotherUserOwnsIsRefused() {
        let trust = FileTrust(owners: [0, 1000])
        #expect(trust.problem(owner: 0, mode: 0o100644) == nil)
        #expect(trust.problem(owner: 1000, mode: 0o100600) == nil)
        #expect(trust.problem(owner: 0, mode: 0o100664) == .writableByOthers(mode: 0o664))
        #expect(trust.problem(owner: 1000, mode: 0o100646) == .writableByOthers(mode: 0o646))
        guard case .foreignOwner(uid: 1001, _)? = trust.problem(owner: 1001, mode: 0o100644) else {
            Issue.record("a file of uid 1001 was trusted")
            return
        }
        #expect("\(FileTrust.Problem.writableByOthers(mode: 0o666))".contains("mode 0666"))
        #expect("\(FileTrust.Problem.foreignOwner(uid: 1001, name: "mallory"))".contains("mallory (uid 1001)"))
    }

    @Test func aProfileOthersCanWriteIsNotApplied() throws {
        let dir = try TemporaryDirectory()
        try dir.write("wan.toml", profileText)
        #expect(chmod(dir.path + "/wan.toml", 0o666) == 0)
        let library = ProfileLibrary(
            searchPath: ProfileSearchPath([.init(dir.path, .commandLine)]), trust: FileTrust(owners: [geteuid()]))
        #expect(throws: ProfileError.self) { try library.resolve("wan") }
        do {
            _ = try library.resolve(dir.path + "/wan.toml")
            Issue.record("a world-writable profile was resolved")
        } catch {
            #expect(error.kind == .untrusted)
            #expect(error.description.contains("mode 0666"))
            #expect(error.description.contains("chmod go-w \(dir.path)/wan.toml"))
        }
        // Listed, with the reason, rather than left out.
        let entry = try #require(library.entries().first { $0.name == "wan" })
        guard case .failure(let error) = entry.summary else {
            Issue.record("the listing called a world-writable profile usable")
            return
        }
        #expect(error.kind == .untrusted)
        #expect(chmod(dir.path + "/wan.toml", 0o644) == 0)
        #expect(try library.resolve("wan").description == "wan")
    }

    @Test func anIncludeOthersCanWriteIsNotAppliedEither() throws {
        let dir = try TemporaryDirectory()
        try dir.write("base.toml", profileText)
        try dir.write("top.toml", "version = 1\ndescription = \"top\"\ninclude = [\"base\"]\n")
        #expect(chmod(dir.path + "/base.toml", 0o620) == 0)
        let library = ProfileLibrary(
            searchPath: ProfileSearchPath([.init(dir.path, .commandLine)]), trust: FileTrust(owners: [geteuid()]))
        do {
            _ = try library.resolve("top")
            Issue.record("a group-writable include was merged")
        } catch {
            #expect(error.kind == .untrusted)
            #expect(error.file.hasSuffix("/base.toml"))
        }
    }

    @Test(.enabled(if: geteuid() == 0, "changing a file's owner needs root"))
    func aProfileAnotherUserOwnsIsNotApplied() throws {
        let dir = try TemporaryDirectory()
        try dir.write("wan.toml", profileText)
        #expect(chown(dir.path + "/wan.toml", 65534, 65534) == 0)
        let library = ProfileLibrary(
            searchPath: ProfileSearchPath([.init(dir.path, .commandLine)]), trust: .forProcess(effectiveUser: 0, environment: [:]))
        do {
            _ = try library.resolve("wan")
            Issue.record("a profile of uid 65534 was applied as root")
        } catch {
            #expect(error.kind == .untrusted)
            #expect(error.description.contains("uid 65534"))
        }
        // Run through sudo by that user, it is theirs to apply.
        let invoker = ProfileLibrary(
            searchPath: ProfileSearchPath([.init(dir.path, .commandLine)]), trust: .forProcess(effectiveUser: 0, environment: ["SUDO_UID": "65534"]))
        #expect(try invoker.resolve("wan").description == "wan")
    }

    @Test func aSnapshotOthersCanWriteIsNotRestored() throws {
        let dir = try TemporaryDirectory()
        let store = SnapshotStore(directory: FilePath(dir.path))
        let snapshot = Snapshot(netnsInode: 42, created: 1, profiles: ["wan"], sysctls: ["net.ipv4.tcp_wmem": "4096 16384 4194304"])
        try store.save(snapshot)
        #expect(try store.load(inode: 42) == snapshot)
        #expect(chmod(store.path(for: 42), 0o666) == 0)
        do {
            _ = try store.load(inode: 42)
            Issue.record("a world-writable snapshot was loaded")
        } catch {
            #expect("\(error)".contains("mode 0666"))
            #expect("\(error)".contains("delete it"))
        }
    }
}
