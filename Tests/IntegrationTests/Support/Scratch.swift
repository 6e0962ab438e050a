import Foundation

/// A temporary directory for profiles and state files, removed afterwards.
struct Scratch {
    let path: String

    static func with<T>(_ body: (Scratch) throws -> T) throws -> T {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("nettune-it-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path)
        defer { try? FileManager.default.removeItem(at: url) }
        return try body(Scratch(path: url.path))
    }

    func write(_ name: String, _ contents: String) throws {
        try contents.write(toFile: path + "/" + name, atomically: true, encoding: .utf8)
    }

    func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: path + "/" + name) }

    func files(in subdirectory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path + "/" + subdirectory)) ?? []).sorted()
    }

    /// nettune's state files in a state directory, without the lock files that
    /// stay there by design (a lock is the flock on the file, not the file).
    func stateFiles(in subdirectory: String) -> [String] {
        files(in: subdirectory).filter { !$0.hasSuffix(".lock") }
    }
}
