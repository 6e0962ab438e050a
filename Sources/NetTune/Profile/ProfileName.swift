/// How a profile argument is meant: a name looked up on the search path, or a file.
public enum ProfileReference: Equatable, Sendable {
    case name(String)
    case file(String)

    /// An argument with a `/` or ending in `.toml` is a path; anything else must be a
    /// plain word (letters, digits, `-`, `_`), so `../x` can never name a profile.
    public init(_ argument: String) throws(ProfileError) {
        if argument.contains("/") || argument.hasSuffix(".toml") {
            self = .file(argument)
            return
        }
        guard Self.isPlainName(argument) else {
            throw ProfileError(
                .badName, file: argument, message: "'\(argument)' is not a profile name",
                fix: "names are plain words such as pi-lan; give a path (containing '/') to use a file")
        }
        self = .name(argument)
    }

    public static func isPlainName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first != "-", first != "." else { return false }
        return name.unicodeScalars.allSatisfy { scalar in
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9", "-", "_": return true
            default: return false
            }
        }
    }
}
