import Foundation
import Testing

@testable import NetTune

/// The version is written once, in the source; the changelog's latest release must agree.
@Suite struct VersionTests {
    static let changelog = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("CHANGELOG.md")

    /// The `## [X.Y.Z] - DATE` headings, newest first.
    static func releases(in text: String) -> [String] {
        text.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("## ["), let close = line.firstIndex(of: "]") else { return nil }
            let name = String(line[line.index(line.startIndex, offsetBy: 4)..<close])
            return name == "Unreleased" ? nil : name
        }
    }

    @Test func theChangelogsLatestReleaseIsTheSourcesVersion() throws {
        let text = try String(contentsOf: Self.changelog, encoding: .utf8)
        #expect(text.contains("## [Unreleased]"))
        #expect(Self.releases(in: text).first == NetTuneVersion.current)
    }

    @Test func releasesAreReadNewestFirstAndUnreleasedIsSkipped() {
        let text = "# Changelog\n\n## [Unreleased]\n- x\n\n## [0.2.0] - 2027-01-01\n\n## [0.1.0] - 2026-11-25\n"
        #expect(Self.releases(in: text) == ["0.2.0", "0.1.0"])
        #expect(Self.releases(in: "## [0.1.0]\n") == ["0.1.0"])
        #expect(Self.releases(in: "no headings").isEmpty)
    }

    @Test func theVersionIsSemantic() {
        let parts = NetTuneVersion.current.split(separator: ".")
        #expect(parts.count == 3 && parts.allSatisfy { UInt($0) != nil })
    }
}
