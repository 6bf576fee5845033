// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "vostmount",
    products: [
        .library(name: "SnapshotFS", targets: ["SnapshotFS"]),
        .executable(name: "vostmount", targets: ["vostmount"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        // SHA-1 for object names (Insecure.SHA1), by name rather than through libgit2's mbedtls.
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
        // FileDescriptor's reads and writes, which retry EINTR and finish short transfers:
        // every such loop of the engine is theirs (see Support/Syscalls.swift).
        .package(url: "https://github.com/apple/swift-system", from: "1.4.0"),
    ],
    targets: [
        // libgit2, from Debian's libgit2-dev; headers only, see module.modulemap.
        .systemLibrary(name: "CGit2", pkgConfig: "libgit2", providers: [.apt(["libgit2-dev"])]),
        // libfuse3, from Debian's libfuse3-dev; the shim fixes FUSE_USE_VERSION once for the package.
        .systemLibrary(name: "CFuse", pkgConfig: "fuse3", providers: [.apt(["libfuse3-dev"])]),
        .target(
            name: "SnapshotFS",
            dependencies: [
                "CGit2", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SystemPackage", package: "swift-system"),
                // Failures no caller can see (a stale lock removed) are logged; the program
                // using the engine chooses where logs go.
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "vostmount",
            dependencies: [
                "SnapshotFS", "CFuse",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The engine's side of scripts/bench: one measured operation per run, so that each
        // run's peak RSS is its own.
        .executableTarget(
            name: "vost-bench",
            dependencies: ["SnapshotFS", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // Helpers both test targets share: temp dirs, running programs, git and vost.
        .target(name: "TestSupport", dependencies: ["SnapshotFS"], path: "Tests/TestSupport"),
        .testTarget(name: "SnapshotFSTests", dependencies: ["SnapshotFS", "TestSupport"]),
        // Real-mount tests: they run the built `vostmount` binary against real FUSE mounts
        // and drive them with ordinary programs.
        .testTarget(name: "VostMountTests", dependencies: ["SnapshotFS", "TestSupport"]),
    ]
)
