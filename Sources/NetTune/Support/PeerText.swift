/// Text that came from another machine (a server's refusal, a lock holder's
/// command line) made safe to print: control characters — escape sequences that
/// could rewrite a terminal among them — become `?`, and the length is bounded.
public enum PeerText {
    public static func sanitized(_ text: String, limit: Int = 512) -> String {
        var out = ""
        var count = 0
        for scalar in text.unicodeScalars {
            guard count < limit else {
                out += "…"
                break
            }
            out.unicodeScalars.append(isSafe(scalar) ? scalar : "?")
            count += 1
        }
        return out
    }

    /// Printable characters and spaces; no C0/C1 controls, DEL, or bidirectional
    /// overrides that reorder what a person reads.
    static func isSafe(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F: return false
        case 0x202A...0x202E, 0x2066...0x2069: return false
        default: return true
        }
    }
}

extension PeerText {
    /// Whether text read from a file someone else may have written can be shown
    /// as it is: at most `limit` characters, every one of them safe to print.
    public static func isClean(_ text: String, limit: Int = 512) -> Bool {
        var count = 0
        for scalar in text.unicodeScalars {
            count += 1
            guard count <= limit, isSafe(scalar) else { return false }
        }
        return true
    }
}
