import NetTune

/// `profiles --json`: one object per file found, in search order.
struct ProfileEntryJSON: Encodable {
    var name: String
    @Nullable var description: String?
    var path: String
    var origin: String
    var shadowed: Bool
    @Nullable var error: String?

    init(_ entry: ProfileLibrary.Entry) {
        name = entry.name
        path = entry.path
        origin = entry.origin.rawValue
        shadowed = entry.shadowed
        switch entry.summary {
        case .success(let text): description = text
        case .failure(let failure): error = failure.description
        }
    }

    enum CodingKeys: String, CodingKey { case name, description, path, origin, shadowed, error }
}

/// `profiles show --json`: the resolved profile.
struct ProfileJSON: Encodable {
    struct Link: Encodable {
        @Nullable var mtu: Int?
        @Nullable var interface: String?
    }

    var name: String
    var version: Int
    var description: String
    var path: String
    var includes: [String]
    var sysctls: [String: String]
    var link: Link
    var origins: [String: String]

    init(_ profile: Profile) {
        name = profile.name
        version = profile.version
        description = profile.description
        path = profile.path
        includes = profile.includes
        sysctls = Dictionary(uniqueKeysWithValues: profile.sysctls.map { ($0.key.name, $0.value) })
        link = Link(mtu: profile.link.mtu, interface: profile.link.interface)
        origins = profile.origins
    }
}
