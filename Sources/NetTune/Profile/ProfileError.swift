/// A profile that cannot be used, with where and how to fix it.
public struct ProfileError: Error, Equatable, CustomStringConvertible {
    public enum Kind: Equatable, Sendable {
        case notFound, unreadable, untrusted, syntax, unknownKey, badValue, badVersion, includeCycle, includeTooDeep, badName
    }

    public var kind: Kind
    /// The file, or the name asked for when no file was found.
    public var file: String
    public var line: Int?
    public var key: String?
    public var message: String
    public var fix: String?

    public init(_ kind: Kind, file: String, line: Int? = nil, key: String? = nil, message: String, fix: String? = nil) {
        self.kind = kind
        self.file = file
        self.line = line
        self.key = key
        self.message = message
        self.fix = fix
    }

    /// `profiles/x.toml:12: net.ipv4.tcp_wmem: <problem>. <fix>`, as compilers print.
    public var description: String {
        var text = file
        if let line { text += ":\(line)" }
        text += ": "
        if let key { text += "\(key): " }
        text += message
        if let fix { text += "; \(fix)" }
        return text
    }
}
