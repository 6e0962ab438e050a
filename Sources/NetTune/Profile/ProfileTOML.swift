/// The part of TOML 1.0 that profiles are written in, parsed strictly: comments,
/// `key = value` with bare, quoted and dotted keys, `[table]` headers, basic and
/// literal strings, integers, floats, booleans and arrays. Inline tables, arrays
/// of tables, multi-line strings and dates are refused with a message saying so.
///
/// nettune first used TOMLKit (toml++ underneath). Fuzzing the profile parser
/// (Fuzz/FuzzProfile) found inputs such as `[`x]` and `include = [}]` on which
/// toml++ fails an assertion — and in a release build merely *assumes* the
/// condition, which is undefined behaviour — and a leak in every parse. A profile
/// needs a small, well-defined subset; this parser is that subset, every path of
/// it returns a value or a `ProfileTOML.SyntaxError` with a line.
public enum ProfileTOML {
    public indirect enum Value: Equatable, Sendable {
        case string(String)
        case integer(Int64)
        case float(Double)
        case bool(Bool)
        case array([Value])
        case table(Table)

        public var typeName: String {
            switch self {
            case .string: return "string"
            case .integer: return "integer"
            case .float: return "float"
            case .bool: return "boolean"
            case .array: return "array"
            case .table: return "table"
            }
        }

        public var string: String? { if case .string(let s) = self { return s } else { return nil } }
        public var integer: Int64? { if case .integer(let i) = self { return i } else { return nil } }
        public var array: [Value]? { if case .array(let a) = self { return a } else { return nil } }
        public var table: Table? { if case .table(let t) = self { return t } else { return nil } }
    }

    /// Keys in the order they appear, each with its value and line.
    public struct Table: Equatable, Sendable {
        public struct Entry: Equatable, Sendable {
            public var key: String
            public var value: Value
            public var line: Int
        }

        public var entries: [Entry] = []
        /// Defined by a `[header]` of its own (rather than only through dotted keys).
        var hasHeader = false

        public subscript(key: String) -> Value? { entries.first { $0.key == key }?.value }
        public func line(of key: String) -> Int? { entries.first { $0.key == key }?.line }
        public var keys: [String] { entries.map(\.key) }

        fileprivate mutating func set(_ key: String, _ value: Value, line: Int) {
            if let index = entries.firstIndex(where: { $0.key == key }) {
                entries[index].value = value
            } else {
                entries.append(Entry(key: key, value: value, line: line))
            }
        }
    }

    public struct SyntaxError: Error, Equatable, CustomStringConvertible {
        public var line: Int
        public var message: String
        public var description: String { message }
    }

    /// Arrays nested deeper than this are refused (real profiles nest none).
    static let maxDepth = 16

    public static func parse(_ text: String) throws(SyntaxError) -> Table {
        var parser = Parser(Array(text.unicodeScalars))
        return try parser.document()
    }
}

private struct Parser {
    typealias SyntaxError = ProfileTOML.SyntaxError
    typealias Value = ProfileTOML.Value
    typealias Table = ProfileTOML.Table

    let text: [Unicode.Scalar]
    var position = 0
    var line = 1

    init(_ text: [Unicode.Scalar]) {
        self.text = text
    }

    var current: Unicode.Scalar? { position < text.count ? text[position] : nil }
    var atEnd: Bool { position >= text.count }

    func peek(_ offset: Int) -> Unicode.Scalar? {
        position + offset < text.count ? text[position + offset] : nil
    }

    mutating func advance() {
        if current == "\n" { line += 1 }
        position += 1
    }

    func fail(_ message: String) -> SyntaxError { SyntaxError(line: line, message: message) }

    static func isBareKey(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar) || scalar == "_" || scalar == "-"
    }

    // MARK: Document

    mutating func document() throws(SyntaxError) -> Table {
        var root = Table()
        var tablePath: [String] = []
        var headers: Set<[String]> = []
        while true {
            skipBlanksCommentsAndNewlines()
            guard let scalar = current else { return root }
            if scalar == "[" {
                if peek(1) == "[" { throw fail("arrays of tables ([[…]]) are not used in profiles") }
                let headerLine = line
                advance()
                skipBlanks()
                let path = try key()
                skipBlanks()
                guard current == "]" else { throw fail("expected ']' to close the table header") }
                advance()
                try endOfLine()
                guard headers.insert(path).inserted else {
                    throw SyntaxError(line: headerLine, message: "table [\(path.joined(separator: "."))] is defined twice")
                }
                try Self.defineTable(path, in: &root, line: headerLine)
                tablePath = path
            } else {
                let keyLine = line
                let path = try key()
                skipBlanks()
                guard current == "=" else { throw fail("expected '=' after the key \(path.joined(separator: "."))") }
                advance()
                skipBlanks()
                let value = try self.value(depth: 0)
                try endOfLine()
                try Self.assign(value, to: tablePath + path, in: &root, line: keyLine)
            }
        }
    }

    /// Creates the table at `path` for a `[header]`.
    static func defineTable(_ path: [String], in root: inout Table, line: Int) throws(SyntaxError) {
        try modify(&root, at: path.dropLast(), line: line) { (parent: inout Table) throws(SyntaxError) in
            let name = path[path.count - 1]
            switch parent[name] {
            case nil:
                var table = Table()
                table.hasHeader = true
                parent.set(name, .table(table), line: line)
            case .table(var table)?:
                // A table first made implicitly by a dotted key may get its header once.
                guard !table.hasHeader else { throw SyntaxError(line: line, message: "table [\(path.joined(separator: "."))] is defined twice") }
                table.hasHeader = true
                parent.set(name, .table(table), line: line)
            default:
                throw SyntaxError(line: line, message: "\(path.joined(separator: ".")) is already a value, not a table")
            }
        }
    }

    static func assign(_ value: Value, to path: [String], in root: inout Table, line: Int) throws(SyntaxError) {
        try modify(&root, at: path.dropLast(), line: line) { (table: inout Table) throws(SyntaxError) in
            let name = path[path.count - 1]
            guard table[name] == nil else {
                throw SyntaxError(line: line, message: "\(path.joined(separator: ".")) is defined twice")
            }
            table.set(name, value, line: line)
        }
    }

    /// Walks to the table at `path`, making the missing ones, and changes it.
    static func modify(
        _ table: inout Table, at path: ArraySlice<String>, line: Int,
        _ body: (inout Table) throws(SyntaxError) -> Void
    ) throws(SyntaxError) {
        guard let first = path.first else { return try body(&table) }
        var child: Table
        switch table[first] {
        case nil: child = Table()
        case .table(let existing)?: child = existing
        default: throw SyntaxError(line: line, message: "\(first) is already a value, not a table")
        }
        try modify(&child, at: path.dropFirst(), line: line, body)
        table.set(first, .table(child), line: table.line(of: first) ?? line)
    }

    // MARK: Keys

    mutating func key() throws(SyntaxError) -> [String] {
        var parts: [String] = []
        while true {
            skipBlanks()
            guard let scalar = current else { throw fail("expected a key") }
            if scalar == "\"" {
                parts.append(try basicString())
            } else if scalar == "'" {
                parts.append(try literalString())
            } else if Self.isBareKey(scalar) {
                var name = ""
                while let c = current, Self.isBareKey(c) {
                    name.unicodeScalars.append(c)
                    advance()
                }
                parts.append(name)
            } else {
                throw fail("expected a key, found '\(Self.printable(scalar))'")
            }
            skipBlanks()
            guard current == "." else { return parts }
            advance()
        }
    }

    // MARK: Values

    mutating func value(depth: Int) throws(SyntaxError) -> Value {
        guard let scalar = current else { throw fail("expected a value") }
        switch scalar {
        case "\"":
            if peek(1) == "\"" && peek(2) == "\"" { throw fail("multi-line strings are not used in profiles; keep the value on one line") }
            return .string(try basicString())
        case "'":
            if peek(1) == "'" && peek(2) == "'" { throw fail("multi-line strings are not used in profiles; keep the value on one line") }
            return .string(try literalString())
        case "[":
            return try array(depth: depth + 1)
        case "{":
            throw fail("inline tables are not used in profiles; write a [table] instead")
        case "t", "f":
            return try boolean()
        default:
            return try number()
        }
    }

    mutating func boolean() throws(SyntaxError) -> Value {
        for (word, value) in [("true", true), ("false", false)] where matches(word) {
            position += word.unicodeScalars.count
            return .bool(value)
        }
        throw fail("expected a value (a string in quotes, a number, true or false, or a list in [ ])")
    }

    func matches(_ word: String) -> Bool {
        let scalars = Array(word.unicodeScalars)
        guard position + scalars.count <= text.count, Array(text[position..<position + scalars.count]) == scalars else { return false }
        return position + scalars.count == text.count || !Self.isBareKey(text[position + scalars.count])
    }

    mutating func number() throws(SyntaxError) -> Value {
        var token = ""
        while let c = current, Self.isBareKey(c) || c == "." || c == "+" || c == ":" {
            token.unicodeScalars.append(c)
            advance()
        }
        guard !token.isEmpty else {
            throw fail(
                "expected a value (a string in quotes, a number, true or false, or a list in [ ]), found '\(current.map(Self.printable) ?? "end of file")'"
            )
        }
        if let integer = Self.integer(token) { return .integer(integer) }
        if let float = Self.float(token) { return .float(float) }
        if token.contains(":") || (token.count >= 10 && token.unicodeScalars.dropFirst(4).first == "-") {
            throw fail("dates and times are not used in profiles")
        }
        throw fail("'\(token)' is not a value; quote strings: \"\(token)\"")
    }

    /// A TOML decimal integer: an optional sign, digits with single underscores
    /// between them, no leading zero (hex, octal and binary are not used in profiles).
    static func integer(_ token: String) -> Int64? {
        var digits = Substring(token)
        var negative = false
        if let sign = digits.first, sign == "+" || sign == "-" {
            negative = sign == "-"
            digits = digits.dropFirst()
        }
        guard let first = digits.first, first.isASCII, first.isNumber, digits.last?.isNumber == true,
            !digits.contains("__"), digits.allSatisfy({ ($0.isASCII && $0.isNumber) || $0 == "_" }),
            !(first == "0" && digits.count > 1)
        else { return nil }
        let plain = digits.filter { $0 != "_" }
        return negative ? Int64("-" + plain) : Int64(plain)
    }

    static func float(_ token: String) -> Double? {
        if ["inf", "+inf", "-inf", "nan", "+nan", "-nan"].contains(token) { return Double(token.replacingAll("+", with: " ").trimmingWhitespace()) }
        let plain = token.filter { $0 != "_" }
        guard !token.contains("__"), !token.hasPrefix("_"), !token.hasSuffix("_"),
            plain.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }),
            plain.allSatisfy({ ($0.isASCII && $0.isNumber) || "+-.eE".contains($0) }),
            let value = Double(plain), value.isFinite
        else { return nil }
        return value
    }

    mutating func array(depth: Int) throws(SyntaxError) -> Value {
        guard depth <= ProfileTOML.maxDepth else { throw fail("lists nest deeper than \(ProfileTOML.maxDepth) levels") }
        advance()  // [
        var elements: [Value] = []
        while true {
            skipBlanksCommentsAndNewlines()
            guard let scalar = current else { throw fail("the list is not closed with ']'") }
            if scalar == "]" {
                advance()
                return .array(elements)
            }
            elements.append(try value(depth: depth))
            skipBlanksCommentsAndNewlines()
            if atEnd { throw fail("the list is not closed with ']'") }
            if current == "," {
                advance()
            } else if current != "]" {
                throw fail("expected ',' or ']' in the list, found '\(current.map(Self.printable) ?? "end of file")'")
            }
        }
    }

    mutating func basicString() throws(SyntaxError) -> String {
        advance()  // "
        var out = String.UnicodeScalarView()
        while true {
            guard let scalar = current, scalar != "\n" else { throw fail("the string is not closed with '\"' on its line") }
            advance()
            switch scalar {
            case "\"":
                return String(out)
            case "\\":
                guard let escape = current else { throw fail("the string is not closed with '\"'") }
                advance()
                switch escape {
                case "\"": out.append("\"")
                case "\\": out.append("\\")
                case "b": out.append("\u{08}")
                case "t": out.append("\t")
                case "n": out.append("\n")
                case "f": out.append("\u{0C}")
                case "r": out.append("\r")
                case "u", "U":
                    let count = escape == "u" ? 4 : 8
                    var hex = ""
                    for _ in 0..<count {
                        guard let digit = current, digit.properties.isASCIIHexDigit else { throw fail("\\\(escape) needs \(count) hex digits") }
                        hex.unicodeScalars.append(digit)
                        advance()
                    }
                    guard let value = UInt32(hex, radix: 16), let decoded = Unicode.Scalar(value) else {
                        throw fail("\\\(escape)\(hex) is not a Unicode scalar")
                    }
                    out.append(decoded)
                default:
                    throw fail("'\\\(Self.printable(escape))' is not an escape TOML knows")
                }
            default:
                guard !Self.isControl(scalar) else { throw fail("control characters are not allowed in strings") }
                out.append(scalar)
            }
        }
    }

    mutating func literalString() throws(SyntaxError) -> String {
        advance()  // '
        var out = String.UnicodeScalarView()
        while true {
            guard let scalar = current, scalar != "\n" else { throw fail("the string is not closed with \"'\" on its line") }
            advance()
            if scalar == "'" { return String(out) }
            guard !Self.isControl(scalar) else { throw fail("control characters are not allowed in strings") }
            out.append(scalar)
        }
    }

    // MARK: Blanks, comments, line ends

    mutating func skipBlanks() {
        while current == " " || current == "\t" { advance() }
    }

    mutating func skipComment() throws(SyntaxError) {
        guard current == "#" else { return }
        while let scalar = current, scalar != "\n" {
            if Self.isControl(scalar) && scalar != "\r" { throw fail("control characters are not allowed in comments") }
            advance()
        }
    }

    mutating func skipBlanksCommentsAndNewlines() {
        while true {
            skipBlanks()
            if current == "#" {
                // A control character in a comment surfaces at the line's end check.
                while let scalar = current, scalar != "\n", !Self.isControl(scalar) || scalar == "\t" { advance() }
            }
            if current == "\r" && peek(1) == "\n" { advance() }
            guard current == "\n" else { return }
            advance()
        }
    }

    /// After a key/value pair or header: blanks, an optional comment, then a newline or the end.
    mutating func endOfLine() throws(SyntaxError) {
        skipBlanks()
        try skipComment()
        if current == "\r" && (peek(1) == "\n" || peek(1) == nil) { advance() }
        guard let scalar = current else { return }
        guard scalar == "\n" else { throw fail("expected the end of the line, found '\(Self.printable(scalar))'") }
        advance()
    }

    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        (scalar.value < 0x20 && scalar != "\t") || scalar.value == 0x7F
    }

    static func printable(_ scalar: Unicode.Scalar) -> String {
        isControl(scalar) ? "U+" + String(scalar.value, radix: 16, uppercase: true).leftPadded(to: 4) : String(scalar)
    }
}
