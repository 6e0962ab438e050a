import NetTune

/// Plans, applies and reverts for people.
enum PlanOutput {
    enum Outcome: String, Encodable {
        case dryRun = "dry-run"
        case nothingToDo = "nothing-to-do"
        case applied, reverted, undone, confirmed
        /// `try`, before it applies: the plan only (never in JSON).
        case trying
    }

    static func warn(_ warnings: [TuningWarning]) {
        for warning in warnings { StandardError.print("warning: \(warning)") }
    }

    /// - Parameter earlier: the snapshot that was there before this apply, if any:
    ///   revert goes back to *its* values.
    static func render(_ plan: Plan, outcome: Outcome, snapshot: String?, earlier: Snapshot? = nil) -> String {
        var out = ""
        let count = plan.changes.count
        switch outcome {
        case .reverted:
            out += "Reverting \(plan.profile): \(count) change\(count == 1 ? "" : "s")\n"
        case .trying:
            out += "Trying profile \(plan.profile): \(count) change\(count == 1 ? "" : "s")\n"
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
            if let earlier, !earlier.profiles.isEmpty {
                out += "Applied on top of \(earlier.profiles.joined(separator: ", ")). `nettune revert` restores the values from before "
                out += "\(earlier.profiles[0]) was applied, for every setting changed since"
            } else {
                out += "Applied. `nettune revert` restores the values it replaced"
            }
            out += snapshot.map { " (snapshot: \($0))" } ?? ""
            out += ".\n"
        case .reverted:
            out += count == 0 ? "The values already matched the snapshot; snapshot deleted.\n" : "Reverted; snapshot deleted.\n"
        case .undone:
            out += "The changes were undone.\n"
        case .confirmed:
            out += "Confirmed: the profile stays applied. `nettune revert` restores the earlier values"
            out += snapshot.map { " (snapshot: \($0))" } ?? ""
            out += ".\n"
        case .trying:
            break
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
        out +=
            plan.changes.isEmpty
            ? "All \(plan.unchanged.count) settings match.\n"
            : "\(plan.changes.count) of \(plan.changes.count + plan.unchanged.count) settings differ.\n"
        return out
    }
}
