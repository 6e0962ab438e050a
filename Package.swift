// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "nettune",
    products: [
        .executable(name: "nettune", targets: ["nettune"]),
        .executable(name: "nettune-delayline", targets: ["nettune-delayline"]),
        .library(name: "NetTune", targets: ["NetTune"])
    ],
    dependencies: [
        // Subcommands, options, help, man page and completion generation.
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // Typed file descriptors and Errno for /proc/sys and socket syscalls.
        .package(url: "https://github.com/apple/swift-system", from: "1.4.0")
    ],
    targets: [
        // libnl-3 / libnl-route-3 headers; linked through pkg-config.
        .systemLibrary(
            name: "CNetlink",
            pkgConfig: "libnl-route-3.0",
            providers: [.apt(["libnl-3-dev", "libnl-route-3-dev"])]
        ),
        // All of nettune's logic. Never imports ArgumentParser.
        .target(
            name: "NetTune",
            dependencies: [
                "CNetlink",
                .product(name: "SystemPackage", package: "swift-system")
            ]
        ),
        // One file per subcommand; parsing and rendering only.
        .target(
            name: "NetTuneCommands",
            dependencies: [
                "NetTune",
                .product(name: "ArgumentParser", package: "swift-argument-parser")
            ]
        ),
        .executableTarget(name: "nettune", dependencies: ["NetTune", "NetTuneCommands"]),
        // The lab's long path: a fixed-delay, lossy link between two namespaces
        // through TUN devices (this kernel has no netem). Started by lab/nslab.
        .executableTarget(name: "nettune-delayline", dependencies: ["NetTune", "NetTuneCommands"]),
        // A pseudo-terminal to type into and read from, for both test targets.
        .target(name: "TerminalTesting", path: "Tests/TerminalTesting"),
        .testTarget(name: "NetTuneTests", dependencies: ["NetTune", "NetTuneCommands", "TerminalTesting"]),
        // Runs the built `nettune` binary inside throw-away network namespaces.
        // (NetTune for its socket types and wire format: the tests play hostile peers.)
        .testTarget(name: "IntegrationTests", dependencies: ["nettune", "nettune-delayline", "NetTune", "TerminalTesting"])
    ],
    swiftLanguageModes: [.v6]
)
