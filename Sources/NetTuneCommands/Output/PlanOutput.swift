import NetTune

/// Plans, applies and reverts for people.
enum PlanOutput {
    enum Outcome: String, Encodable {
        case dryRun = "dry-run", applied, nothingToDo = "nothing-to-do", reverted, undone, confirmed
    }

    static func warn(_ warnings: [TuningWarning]) {
        for warning in warnings { StandardError.print("warning: \(warning)") }
    }

    static func render(_ plan: Plan, outcome: Outcome, snapshot: String?) -> String {
        var out = ""
        let count = plan.changes.count
        switch outcome {
        case .reverted:
            out += "Reverting \(plan.profile): \(count) change\(count == 1 ? "" : "s")\n"
        default:
            out += "Profile \(plan.profile): \(count) change\(count == 1 ? "" : "s")\n"
        }
        out += TextTable.render(plan.changes.map { [$0.target.description, $0.from, "→", $0.to] })
        if !plan.unchanged.isEmpty {
            out += "  already set: " + plan.unchanged.map(\.target.description).joined(separator: ", ") + "\n"
        }
        switch outcome {
        case .dryRun:
            out += "Dry run: nothing was changed.\n"
        case .nothingToDo:
            out += "Nothing to change: the live values already match.\n"
        case .applied:
            out += "Applied. `nettune revert` restores the values before nettune's first apply"
            out += snapshot.map { " (snapshot: \($0))" } ?? ""
            out += ".\n"
        case .reverted:
            out += count == 0 ? "The values already matched the snapshot; snapshot deleted.\n" : "Reverted; snapshot deleted.\n"
        case .undone:
            out += "The changes were undone.\n"
        case .confirmed:
            out += "Confirmed: the profile stays applied. `nettune revert` restores the earlier values.\n"
        }
        return out
    }

    static func renderVerify(_ plan: Plan) -> String {
        var rows: [[String]] = []
        for setting in plan.unchanged { rows.append(["ok", setting.target.description, setting.to]) }
        for change in plan.changes {
            rows.append(["DIFFERS", change.target.description, "live \(change.from), profile wants \(change.to)"])
        }
        var out = "Profile \(plan.profile):\n" + TextTable.render(rows)
        out += plan.changes.isEmpty
            ? "All \(plan.unchanged.count) settings match.\n"
            : "\(plan.changes.count) of \(plan.changes.count + plan.unchanged.count) settings differ.\n"
        return out
    }
}
