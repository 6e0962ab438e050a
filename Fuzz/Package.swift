// swift-tools-version: 6.0
// Fuzz targets for every decoder of untrusted bytes, built with the toolchain's
// libFuzzer (`-sanitize=fuzzer`). A package of its own, so the main package's
// normal build never needs libFuzzer; `make fuzz` and `scripts/fuzz` build and run it.
import PackageDescription

let targets = ["FuzzProbeMessage", "FuzzProfile", "FuzzSnapshot", "FuzzIperfMessages", "FuzzResultFiles"]

let package = Package(
    name: "nettune-fuzz",
    dependencies: [.package(name: "nettune", path: "..")],
    targets: [.target(name: "FuzzSupport")]
        + targets.map { name in
            .executableTarget(
                name: name, dependencies: ["FuzzSupport", .product(name: "NetTune", package: "nettune")],
                swiftSettings: [.unsafeFlags(["-parse-as-library"])])
        },
    swiftLanguageModes: [.v6]
)
