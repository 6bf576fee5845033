import Foundation

/// Where packed objects are: the repository's `objects/pack/*.idx` files (version 2), read in
/// place, so that a large packed blob can be streamed from its pack (`PackStream`) instead
/// of being inflated whole by libgit2 1.5, which cannot stream packed objects.
///
/// Thread-safe: the list of indexes is under `lock`; each index is immutable once read. A
/// miss rescans the directory (at most once a second), since `git gc`, a fetch or our own
/// batches add packs while the mount runs.
final class PackIndexes: @unchecked Sendable {
    // @unchecked: `indexes` and `scanned` are under `lock`.
    private let packDirectory: String
    private let lock = NSLock()
    private var indexes: [String: PackIndex] = [:]
    private var scanned = -Double.infinity

    init(objectsDirectory: String) { packDirectory = objectsDirectory + "/pack" }

    /// The pack file holding `id` and the entry's offset in it; nil when no pack has it.
    func locate(_ id: ObjectID) -> (pack: String, offset: Int)? {
        lock.lock()
        defer { lock.unlock() }
        if let hit = search(id) { return hit }
        let now = ProcessInfo.processInfo.systemUptime
        guard now - scanned >= 1 else { return nil }
        scanned = now
        rescan()
        return search(id)
    }

    /// Lists the folder again (under `lock`): new indexes read, removed ones forgotten. A
    /// listing that fails (a transient error) keeps the indexes known: dropping them would
    /// send every large packed blob to libgit2's whole-object inflate.
    private func rescan() {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: packDirectory) else { return }
        let present = Set(names.filter { $0.hasSuffix(".idx") })
        indexes = indexes.filter { present.contains($0.key) }
        for name in present where indexes[name] == nil {
            if let index = PackIndex(path: "\(packDirectory)/\(name)") { indexes[name] = index }
        }
    }

    /// Makes the next miss rescan the folder at once: a fetch has just added a pack.
    func rescanSoon() {
        lock.lock()
        defer { lock.unlock() }
        scanned = -Double.infinity
    }

    /// Lists the folder again at once: packs were removed (or merged) from a partial clone's cache.
    func forgetRemoved() {
        lock.lock()
        defer { lock.unlock() }
        rescan()
    }

    private func search(_ id: ObjectID) -> (pack: String, offset: Int)? {
        for index in indexes.values {
            if let offset = index.offset(of: id) { return (index.packPath, offset) }
        }
        return nil
    }
}
