/// An optional written as `null` when absent, never left out, so scripts can rely on
/// every documented key being there. (Synthesized Encodable skips nil optionals.)
// swift-format-ignore: UseSynthesizedInitializer
@propertyWrapper
struct Nullable<Value: Encodable>: Encodable {
    var wrappedValue: Value?

    // Written out although it looks synthesized: with it, a struct's memberwise
    // initializer takes a plain `Value?` for each `@Nullable` property.
    init(wrappedValue: Value?) {
        self.wrappedValue = wrappedValue
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let wrappedValue { try container.encode(wrappedValue) } else { try container.encodeNil() }
    }
}
