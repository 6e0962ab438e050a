/// The `min default max` triple of `net.ipv4.tcp_wmem` / `tcp_rmem`, in bytes.
public struct TCPBufferTriple: Equatable, Sendable, CustomStringConvertible {
    public let min: Int
    public let `default`: Int
    public let max: Int

    public init(min: Int, default def: Int, max: Int) throws(TCPBufferTripleError) {
        guard min > 0, def > 0, max > 0 else { throw .notPositive }
        guard min <= def, def <= max else { throw .outOfOrder(min: min, default: def, max: max) }
        self.min = min
        self.default = def
        self.max = max
    }

    /// Parses `"4096 16384 4194304"`, tabs or spaces.
    public init(parsing text: String) throws(TCPBufferTripleError) {
        let fields = SysctlValue.normalize(text).split(separator: " ")
        guard fields.count == 3 else { throw .wrongFieldCount(text: text, count: fields.count) }
        var numbers: [Int] = []
        for field in fields {
            guard let n = Int(field) else { throw .notANumber(String(field)) }
            numbers.append(n)
        }
        try self.init(min: numbers[0], default: numbers[1], max: numbers[2])
    }

    /// The single-spaced form nettune writes and prints.
    public var description: String { "\(min) \(self.default) \(max)" }
}

public enum TCPBufferTripleError: Error, Equatable, CustomStringConvertible {
    case wrongFieldCount(text: String, count: Int)
    case notANumber(String)
    case notPositive
    case outOfOrder(min: Int, default: Int, max: Int)

    public var description: String {
        switch self {
        case .wrongFieldCount(let text, let count):
            return "'\(text)' has \(count) field(s); a TCP buffer setting is three byte counts: \"min default max\", e.g. \"4096 131072 6291456\""
        case .notANumber(let field):
            return "'\(field)' is not a whole number of bytes"
        case .notPositive:
            return "TCP buffer sizes must be positive byte counts"
        case .outOfOrder(let min, let def, let max):
            return "\(min) \(def) \(max) is out of order; it must satisfy min ≤ default ≤ max"
        }
    }
}
