import Glibc

/// The handshake between `nettune try` and `nettune confirm` in one namespace:
/// `try` leaves a marker holding its pid while it waits; `confirm` checks that a
/// live `try` is waiting and then creates the confirmation file it polls for.
public struct TryMarker {
    public let snapshots: SnapshotStore
    public let namespace: UInt64

    public init(snapshots: SnapshotStore, namespace: UInt64) {
        self.snapshots = snapshots
        self.namespace = namespace
    }

    public var markerPath: String { "\(snapshots.directory)/netns-\(namespace).try" }
    public var confirmationPath: String { snapshots.confirmationPath(for: namespace) }

    /// Called by `try` before it waits.
    public func begin() throws {
        try snapshots.createDirectory()
        _ = unlink(confirmationPath)
        try write(markerPath, "\(getpid())\n")
    }

    /// Called by `try` when it is done, whatever the outcome.
    public func end() {
        _ = unlink(markerPath)
        _ = unlink(confirmationPath)
    }

    /// Called by `confirm`.
    public func confirm() throws {
        guard let text = try? TextFile.read(markerPath), let pid = Int32(text.trimmingWhitespace()),
              kill(pid, 0) == 0 || errno == EPERM else {
            throw StateError(path: markerPath, message: "no `nettune try` is waiting in this network namespace (net:[\(namespace)]); nothing to confirm")
        }
        try write(confirmationPath, "confirmed\n")
    }

    private func write(_ path: String, _ text: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw StateError(path: path, message: "cannot write: \(String(cString: strerror(errno))); run with sudo or use the same --state-dir as `nettune try`")
        }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
    }
}
