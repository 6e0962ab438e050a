import NetTune

/// `apply`, `revert` and `try` with `--json`:
/// `{"profile", "outcome", "changes": [{"setting", "kind", "interface", "from", "to"}],
///   "unchanged": [...], "warnings": [...], "snapshot": path|null}`.
struct PlanJSON: Encodable {
    struct Setting: Encodable {
        var setting: String
        var kind: String
        @Nullable var interface: String?
        var from: String
        var to: String

        init(_ change: Change) {
            from = change.from
            to = change.to
            switch change.target {
            case .sysctl(let key):
                setting = key.name
                kind = "sysctl"
            case .mtu(let name):
                setting = "mtu"
                kind = "mtu"
                interface = name
            }
        }

        enum CodingKeys: String, CodingKey { case setting, kind, interface, from, to }
    }

    var profile: String
    var outcome: PlanOutput.Outcome
    var changes: [Setting]
    var unchanged: [Setting]
    var warnings: [String]
    @Nullable var snapshot: String?

    init(_ plan: Plan, outcome: PlanOutput.Outcome, snapshot: String?) {
        profile = plan.profile
        self.outcome = outcome
        changes = plan.changes.map(Setting.init)
        unchanged = plan.unchanged.map(Setting.init)
        warnings = plan.warnings.map(\.message)
        self.snapshot = snapshot
    }

    enum CodingKeys: String, CodingKey { case profile, outcome, changes, unchanged, warnings, snapshot }
}

/// `verify --json`: `{"profile", "matches": bool, "differences": [{"setting", "kind",
/// "interface", "from" (live), "to" (wanted)}], "matching": [...]}`.
struct VerifyJSON: Encodable {
    var profile: String
    var matches: Bool
    var differences: [PlanJSON.Setting]
    var matching: [PlanJSON.Setting]

    init(_ plan: Plan) {
        profile = plan.profile
        matches = plan.changes.isEmpty
        differences = plan.changes.map(PlanJSON.Setting.init)
        matching = plan.unchanged.map(PlanJSON.Setting.init)
    }
}
