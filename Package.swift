// swift-tools-version: 6.0
import PackageDescription

/// Fault injection in the syscall adapters (see `Core/FaultInjection.swift`) is compiled
/// into debug builds only, so release builds pay nothing for it.
let faultInjection: [SwiftSetting] = [.define("IPC_FAULT_INJECTION", .when(configuration: .debug))]

let package = Package(
    name: "swift-interprocess",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Interprocess", targets: ["Interprocess"]),
        /// The swift-log handler for syslog, apart so that `Interprocess` does not depend on swift-log.
        .library(name: "InterprocessLogging", targets: ["InterprocessLogging"]),
        .executable(name: "ipc", targets: ["ipc"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        // Only for Examples/signal-service: signal streams beside a ServiceGroup.
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .target(name: "CInterprocess"),
        /// What only the `ipc` tool calls from C: bench CPU placement and signals, stdout.
        .target(name: "CIPCTool"),
        .target(
            name: "Interprocess",
            dependencies: [
                "CInterprocess",
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            exclude: [
                "Channels/README.md", "Daemons/README.md", "Doors/README.md", "Locks/README.md", "Messages/README.md",
                "Memory/README.md", "Signals/README.md", "Synchronization/README.md", "Threads/README.md",
            ],
            swiftSettings: faultInjection
        ),
        .target(
            name: "InterprocessLogging",
            dependencies: ["Interprocess", .product(name: "Logging", package: "swift-log")]
        ),
        .executableTarget(
            name: "ipc",
            dependencies: [
                "Interprocess",
                "CInterprocess",
                "CIPCTool",
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        ),
        .executableTarget(
            name: "fifo-echo",
            dependencies: ["Interprocess"],
            path: "Examples/fifo-echo"
        ),
        .executableTarget(
            name: "producer-consumer",
            dependencies: ["Interprocess"],
            path: "Examples/producer-consumer"
        ),
        .executableTarget(
            name: "barrier-sort",
            dependencies: ["Interprocess"],
            path: "Examples/barrier-sort"
        ),
        .executableTarget(
            name: "shared-counter",
            dependencies: ["Interprocess"],
            path: "Examples/shared-counter"
        ),
        .executableTarget(
            name: "signal-service",
            dependencies: [
                "Interprocess",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Examples/signal-service"
        ),
        .executableTarget(
            name: "InterprocessTestPeer",
            dependencies: [
                "Interprocess", "CInterprocess",
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        .testTarget(
            name: "InterprocessTests",
            dependencies: [
                "Interprocess", "CInterprocess", "InterprocessTestPeer", "InterprocessLogging",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: faultInjection
        ),
    ],
    swiftLanguageModes: [.v6]
)
