/// One setting to move from its current value to a wanted one.
public struct Change: Equatable, Sendable, CustomStringConvertible {
    public enum Target: Hashable, Sendable, CustomStringConvertible {
        case sysctl(SysctlKey)
        case mtu(interface: String)

        public var description: String {
            switch self {
            case .sysctl(let key): return key.name
            case .mtu(let interface): return "mtu of \(interface)"
            }
        }
    }

    public var target: Target
    public var from: String
    public var to: String

    public init(_ target: Target, from: String, to: String) {
        self.target = target
        self.from = from
        self.to = to
    }

    /// The change that undoes this one.
    public var inverse: Change { Change(target, from: to, to: from) }

    public var description: String { "\(target): \(from) → \(to)" }
}

/// Something that will not fail the apply but may not do what the user expects.
public struct TuningWarning: Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// What applying a profile would do: computed first, so dry runs, diffs, verify
/// and the snapshot all come from the same place.
public struct Plan: Equatable, Sendable {
    public var profile: String
    /// Settings that differ, in the order they will be applied (sysctls, then MTU).
    public var changes: [Change]
    /// Settings the profile names that already have the wanted value.
    public var unchanged: [Change]
    public var warnings: [TuningWarning]

    public init(profile: String, changes: [Change], unchanged: [Change] = [], warnings: [TuningWarning] = []) {
        self.profile = profile
        self.changes = changes
        self.unchanged = unchanged
        self.warnings = warnings
    }
}

/// A setting found with a value this nettune did not give it.
public struct SettingDeparture: Equatable, Sendable {
    public var target: Change.Target
    public var expected: String
    public var found: String

    public init(target: Change.Target, expected: String, found: String) {
        self.target = target
        self.expected = expected
        self.found = found
    }
}
