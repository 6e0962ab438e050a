/// A profile that cannot be applied here, found before anything is written.
public struct PlanError: Error, Equatable, CustomStringConvertible {
    public enum Kind: Equatable, Sendable { case missingKey, readOnlyKey, noInterface, mtuOutOfRange }
    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
