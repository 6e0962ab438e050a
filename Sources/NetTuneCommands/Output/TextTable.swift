import NetTune

/// Left-aligned columns separated by two spaces; the last column is not padded.
/// Cells are printed safe: a name the kernel allows (an interface named with an
/// escape sequence) must not rewrite the terminal or break the columns.
enum TextTable {
    static func render(_ rows: [[String]], indent: String = "  ") -> String {
        let rows = rows.map { $0.map { PeerText.sanitized($0, limit: 4_096) } }
        let columns = rows.map(\.count).max() ?? 0
        var widths = [Int](repeating: 0, count: columns)
        for row in rows {
            for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) }
        }
        var out = ""
        for row in rows {
            var line = indent
            for (i, cell) in row.enumerated() {
                let isLast = i == row.count - 1
                line += isLast ? cell : cell + String(repeating: " ", count: widths[i] - cell.count + 2)
            }
            while line.last == " " { line.removeLast() }
            out += line + "\n"
        }
        return out
    }
}
