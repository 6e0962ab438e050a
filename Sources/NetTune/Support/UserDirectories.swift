import SystemPackage

/// Where a user's own files go: an XDG base directory, else one under the home
/// directory, else one under the account's home in the password database.
///
/// Never a shared directory such as /tmp: run without HOME (`env -i`, a bare
/// service), a fixed path there would let another local user create it first and
/// have nettune append its history to, or write its payload through, a symlink of
/// their choosing.
public enum UserDirectories {
    /// `$<xdgVariable>/nettune`, else `$HOME/<homeFallback>/nettune`, else the
    /// same under the password database's home for this user. A variable counts
    /// only when it holds an absolute path (the XDG rule; an empty or relative one
    /// would depend on the working directory).
    /// - Parameters:
    ///   - purpose: what the directory is for, named in the error.
    ///   - option: the command-line option that names a place instead.
    public static func directory(
        xdgVariable: String, homeFallback: String, purpose: String, option: String, environment: [String: String]
    ) throws(UserDirectoryError) -> FilePath {
        try directory(
            xdgVariable: xdgVariable, homeFallback: homeFallback, purpose: purpose, option: option, environment: environment,
            passwordHome: Syscall.passwordHomeDirectory)
    }

    /// As above, with the password database's answer (`getpwuid`) given.
    static func directory(
        xdgVariable: String, homeFallback: String, purpose: String, option: String, environment: [String: String],
        passwordHome: () -> String?
    ) throws(UserDirectoryError) -> FilePath {
        if let base = environment[xdgVariable], base.hasPrefix("/") { return FilePath(base).appending("nettune") }
        // Debian's `nobody` has the home /nonexistent, and sudo passes it on as HOME.
        func usable(_ home: String?) -> String? { home.flatMap { $0.hasPrefix("/") && $0 != "/nonexistent" ? $0 : nil } }
        guard let home = usable(environment["HOME"]) ?? usable(passwordHome()) else {
            throw UserDirectoryError(purpose: purpose, variable: xdgVariable, option: option)
        }
        return FilePath(home).appending(homeFallback).appending("nettune")
    }
}

/// No per-user directory could be found for a file nettune keeps.
public struct UserDirectoryError: Error, Equatable, CustomStringConvertible {
    public var purpose: String
    public var variable: String
    public var option: String

    public var description: String {
        "cannot tell where to keep the \(purpose): \(variable) is not set, and neither HOME nor the password database gives this user "
            + "a home directory; set HOME or \(variable) to an absolute path, or pass \(option)"
    }
}
