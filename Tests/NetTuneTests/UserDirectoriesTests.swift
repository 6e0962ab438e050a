import SystemPackage
import Testing

@testable import NetTune

/// Where history and the payload go by default: the user's own directories, never
/// a shared one another user could prepare.
@Suite struct UserDirectoriesTests {
    private func cache(_ environment: [String: String], passwordHome: String? = "/home/pi") throws(UserDirectoryError) -> FilePath {
        try UserDirectories.directory(
            xdgVariable: "XDG_CACHE_HOME", homeFallback: ".cache", purpose: "random payload", option: "--cache-dir",
            environment: environment, passwordHome: { passwordHome })
    }

    @Test func anAbsoluteXDGDirectoryComesFirst() throws {
        #expect(try cache(["XDG_CACHE_HOME": "/var/cache", "HOME": "/root"]) == "/var/cache/nettune")
    }

    @Test func thenHOME() throws {
        #expect(try cache(["HOME": "/root"]) == "/root/.cache/nettune")
        #expect(try cache(["XDG_CACHE_HOME": "relative/cache", "HOME": "/root"]) == "/root/.cache/nettune")
    }

    /// `env -i`, a bare service: the password database's home, not /tmp.
    @Test(arguments: [[:], ["HOME": ""], ["HOME": "."], ["XDG_CACHE_HOME": ""]])
    func thenThePasswordDatabase(environment: [String: String]) throws {
        #expect(try cache(environment) == "/home/pi/.cache/nettune")
    }

    @Test(arguments: [nil, "", "relative", "/nonexistent"])
    func noHomeAnywhereIsAnErrorNamingTheWayOut(passwordHome: String?) {
        #expect(throws: UserDirectoryError(purpose: "random payload", variable: "XDG_CACHE_HOME", option: "--cache-dir")) {
            try cache(["HOME": "/nonexistent"], passwordHome: passwordHome)
        }
        let message = UserDirectoryError(purpose: "random payload", variable: "XDG_CACHE_HOME", option: "--cache-dir").description
        #expect(message.contains("set HOME or XDG_CACHE_HOME to an absolute path, or pass --cache-dir"))
    }

    @Test func theHistoryAndThePayloadUseTheirOwnBases() throws {
        #expect(try HistoryStore.defaultPath(environment: ["HOME": "/home/pi"]) == "/home/pi/.local/state/nettune/history.jsonl")
        #expect(try HistoryStore.defaultPath(environment: ["XDG_STATE_HOME": "/var/lib"]) == "/var/lib/nettune/history.jsonl")
        #expect(try PayloadFile.defaultCacheDirectory(environment: ["HOME": "/home/pi"]) == "/home/pi/.cache/nettune")
    }

    /// This process's own entry: root's home here (tests run as root), some absolute
    /// path for any user with an entry.
    @Test func thePasswordDatabaseAnswers() {
        #expect(Syscall.passwordHomeDirectory()?.hasPrefix("/") == true)
    }
}
