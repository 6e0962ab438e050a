import ArgumentParser

/// Options shared by every command that prints results.
struct OutputOptions: ParsableArguments {
    @Flag(name: [.customShort("J"), .long], help: "Print machine-readable JSON (documented in the README) instead of a table.")
    var json = false
}
