import Foundation

/// The file contents a partial clone fetched when they were read (its blob-only promisor
/// packs, and the LFS objects it downloaded), kept within `limit` bytes: past it, what was
/// read least recently is dropped first, and comes back from the remote when read again.
///
/// Only what the remote gave is ever dropped, so nothing not yet pushed can be: a pack is a
/// candidate only when it is a promisor pack (`.promisor`: the promisor remote sent it) that
/// holds nothing but blobs, which is what a lazy fetch makes (`PromisedObjects`); the clone's
/// own pack (commits and trees), the packs and loose objects we write (commits not pushed
/// yet) and the packs `git gc` makes are never candidates, nor is a pack another kept. An
/// LFS object is a candidate only when it was downloaded here (listed in
/// `vostmount-fetched-lfs`), never one written through the mount. A pack goes whole: the
/// folder a program read through comes and goes as one.
///
/// When content was read last is kept in memory and, at most once a minute per item, as the
/// mtime of the pack's `.promisor` file (of the LFS object), so that the next mount knows it.
/// A pack or object read or fetched less than `grace` seconds ago is not dropped: a reader
/// has just been promised it. A reader that loses the race anyway (it found the object in a
/// pack dropped since) fetches it again (`Store.present`).
///
/// Thread-safe: `lock` guards the fields below it; passes that drop files run one at a time
/// on `queue`. libgit2 1.5 keeps a removed pack open, and reads it, until its object
/// database is opened again: a pass that removed packs reopens it (`reopen`), so the space
/// is given back at once.
final class FetchedContent: @unchecked Sendable {
    // @unchecked: the mutable fields are under `lock`.
    let repository: String
    var packDirectory: String { repository + "/objects/pack" }
    /// The LFS objects downloaded here, one SHA-256 per line.
    private var lfsList: String { repository + "/vostmount-fetched-lfs" }
    private let queue = DispatchQueue(label: "vostmount.fetched-content")
    static let grace: Double = 5
    static let touchEvery: Double = 60

    private let lock = NSLock()
    /// Bytes kept at most (`--cache-size`).
    private(set) var limit: Int
    /// Seconds since 1970 of the last read, by item key (a pack's path without `.pack`, an
    /// LFS object's path), and of the last mtime written.
    private var lastRead: [String: Double] = [:]
    private var touched: [String: Double] = [:]
    /// Whether each promisor pack holds only blobs (a pack never changes once named).
    private var blobOnly: [String: Bool] = [:]
    /// Bytes of candidates at the last pass, and items and bytes dropped since the mount.
    private var used = 0
    private var dropped = (items: 0, bytes: 0)
    private var passQueued = false

    init(repository: String, limit: Int) {
        self.repository = repository
        self.limit = limit
    }

    struct Status { let used: Int; let limit: Int; let droppedItems: Int; let droppedBytes: Int }
    var status: Status { lock.withLock { Status(used: used, limit: limit, droppedItems: dropped.items, droppedBytes: dropped.bytes) } }

    func setLimit(_ bytes: Int) { lock.withLock { limit = bytes } }

    // MARK: Reads

    /// Notes that the pack at `packPath` (`.../pack-X.pack`) was read.
    func noteRead(pack packPath: String) {
        guard packPath.hasSuffix(".pack") else { return }
        let key = String(packPath.dropLast(5))
        noteRead(key: key, mtimeOf: key + ".promisor")
    }

    /// Notes that the LFS object at `path` was read.
    func noteRead(lfsObject path: String) { noteRead(key: path, mtimeOf: path) }

    func noteRead(key: String, mtimeOf file: String) {
        let now = Date().timeIntervalSince1970
        let touch: Bool = lock.withLock {
            lastRead[key] = now
            guard now - (touched[key] ?? 0) >= Self.touchEvery else { return false }
            touched[key] = now
            return true
        }
        // Only where it exists (`utimensat` creates nothing); a pack we wrote has no .promisor.
        if touch { _ = utimensat(AT_FDCWD, file, nil, 0) }  // a failure only loses the order at the next mount
    }

    /// Packs merged into `key`, read last at `time`.
    func replaced(_ keys: [String], by key: String, readAt time: Double) {
        lock.withLock {
            for old in keys { lastRead[old] = nil }
            lastRead[key] = time
            blobOnly[key] = true
        }
    }

    /// Records an LFS object downloaded from the remote, so that it may be dropped later.
    func noteFetched(lfsOID oid: String, path: String) {
        lock.withLock {
            lastRead[path] = Date().timeIntervalSince1970
            guard let out = FileHandle(forUpdatingAtPath: lfsList) ?? create(lfsList) else { return }
            // Each failure here leaves the object unlisted (or a line damaged), which only
            // means it is never dropped: the safe side.
            defer { try? out.close() }  // see above
            _ = try? out.seekToEnd()  // see above
            try? out.write(contentsOf: Data((oid + "\n").utf8))  // see above
        }
    }

    private func create(_ path: String) -> FileHandle? {
        FileManager.default.createFile(atPath: path, contents: nil) ? FileHandle(forUpdatingAtPath: path) : nil
    }

    // MARK: Dropping

    /// Runs a pass soon (after a fetch, at the mount): at most one queued at a time.
    func trimSoon(after delay: Double = 0, reopen: @escaping @Sendable () -> Void) {
        let queue = lock.withLock { () -> Bool in
            defer { passQueued = true }
            return !passQueued
        }
        guard queue else { return }
        self.queue.asyncAfter(deadline: .now() + delay) { [self] in
            lock.withLock { passQueued = false }
            let (retry, droppedPacks) = trim()
            if droppedPacks { reopen() }
            if let retry { trimSoon(after: retry, reopen: reopen) }
        }
    }

    /// One pass: drops the least recently read candidates until they fit in `limit`. Returns
    /// in how many seconds to look again when some could not go yet (read within `grace`),
    /// and whether packs were dropped.
    private func trim() -> (retry: Double?, droppedPacks: Bool) {
        var items = candidates()
        let merged = mergeOldPacks(items)
        if merged { items = candidates() }
        let total = items.reduce(0) { $0 + $1.size }
        let limit = lock.withLock { () -> Int in
            used = total
            return self.limit
        }
        var over = total - limit
        guard over > 0 else { return (nil, merged) }
        let now = Date().timeIntervalSince1970
        var wait: Double?
        var droppedLFS: Set<String> = []
        var droppedPacks = merged
        for item in items.sorted(by: { $0.lastRead < $1.lastRead }) where over > 0 {
            let age = now - item.lastRead
            if age < Self.grace {
                wait = min(wait ?? Self.grace, Self.grace - age + 0.1)
                continue
            }
            // A file that cannot be removed stays counted at the next pass.
            let removed = item.lfsOID == nil ? PackFolder.remove(item.key) : (unlink(item.key) == 0 || errno == ENOENT)
            guard removed else { continue }
            over -= item.size
            if let oid = item.lfsOID { droppedLFS.insert(oid) } else { droppedPacks = true }
            lock.withLock {
                dropped.items += 1
                dropped.bytes += item.size
                used -= item.size
                lastRead[item.key] = nil
            }
        }
        if !droppedLFS.isEmpty { forgetLFS(droppedLFS) }
        return (wait, droppedPacks)
    }

    /// A pack (`key` its path without suffix) or a downloaded LFS object (`key` its path).
    struct Item {
        let key: String
        let size: Int
        let lastRead: Double
        var lfsOID: String?
    }

    func candidates() -> [Item] {
        var items: [Item] = []
        // A folder that cannot be listed holds no candidate this pass.
        for (key, kept) in PackFolder.promisorPacks(in: packDirectory) ?? [] {
            // A `.keep` is ours (see `keepMark`) or someone's who wants that pack kept.
            if kept {
                guard FileManager.default.contents(atPath: key + ".keep") == Data(Self.keepMark.utf8) else { continue }
            } else {
                guard isBlobOnly(key) == true, Self.markKept(key) else { continue }
            }
            items.append(Item(key: key, size: PackFolder.size(key), lastRead: lastRead(key, mtimeOf: key + ".promisor")))
        }
        for oid in listedLFS() ?? [] {
            let path = "\(repository)/lfs/objects/\(oid.prefix(2))/\(oid.dropFirst(2).prefix(2))/\(oid)"
            var info = stat()
            guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
            items.append(Item(key: path, size: Int(info.st_blocks) * 512, lastRead: lastRead(path, mtimeOf: path), lfsOID: oid))
        }
        return items
    }

    /// What makes the 'last read' of an item: our note of it, or its file's mtime.
    private func lastRead(_ key: String, mtimeOf file: String) -> Double {
        var info = stat()
        let mtime = lstat(file, &info) == 0 ? Double(info.st_mtim.tv_sec) : 0
        return max(mtime, lock.withLock { lastRead[key] } ?? 0)
    }

    /// What our `.keep` files say. `git gc` (run by `git fetch` past 50 packs, or by hand)
    /// leaves a kept pack as it is: without one it would repack fetched content with the
    /// clone's commits and trees into a pack that could never be dropped again.
    static let keepMark = "vostmount: content fetched when read, dropped past --cache-size\n"

    static func markKept(_ key: String) -> Bool {
        FileManager.default.createFile(atPath: key + ".keep", contents: Data(keepMark.utf8))
    }

    /// Whether the pack `key`.pack holds blobs only: each entry's type, a delta's from its
    /// base in the same pack; nil when it cannot be read now (not remembered: asked again at
    /// the next pass). Anything unexpected in it says no: never a candidate.
    private func isBlobOnly(_ key: String) -> Bool? {
        if let known = lock.withLock({ blobOnly[key] }) { return known }
        guard let index = PackIndex(path: key + ".idx") else { return nil }
        let file: PackFile
        do { file = try PackFile(path: key + ".pack") } catch { return nil }
        var answer = true
        for offset in index.offsets where answer {
            guard let blob = Self.isBlob(at: offset, in: file, index: index) else { return nil }
            answer = blob
        }
        lock.withLock { blobOnly[key] = answer }
        return answer
    }

    /// Whether the entry at `offset` is a blob; nil when it cannot be read.
    private static func isBlob(at offset: Int, in file: PackFile, index: PackIndex) -> Bool? {
        var offset = offset
        // A chain is at most as long as the pack has entries; 10,000 is git's own far bound.
        for _ in 0..<10_000 {
            let entry: PackFile.Entry
            do { entry = try file.entry(at: offset) } catch SnapshotError.io { return nil } catch { return false }
            switch entry.kind {
            case .whole(let type): return type == 3
            case .offsetDelta(let base): offset = base
            case .refDelta(let base):
                guard let at = index.offset(of: base) else { return false }
                offset = at
            }
        }
        return false
    }

    /// The LFS objects listed as downloaded here: none when the list does not exist yet, nil
    /// when it cannot be read (then nothing is dropped, nor the list rewritten).
    private func listedLFS() -> [String]? {
        let text: String
        do { text = try String(contentsOfFile: lfsList, encoding: .utf8) } catch {
            return FileManager.default.fileExists(atPath: lfsList) ? nil : []
        }
        // Only names that are SHA-256 hex: the list is ours, but lives in the repository.
        let hex = Set("0123456789abcdef")
        return Array(Set(text.split(separator: "\n").map(String.init).filter { $0.count == 64 && $0.allSatisfy(hex.contains) }))
    }

    private func forgetLFS(_ oids: Set<String>) {
        lock.withLock {
            guard let listed = listedLFS() else { return }
            let kept = listed.filter { !oids.contains($0) }
            let text = kept.map { $0 + "\n" }.joined()
            // Written whole then renamed: a crash leaves the old list or the new, never half.
            try? Data(text.utf8).write(to: URL(fileURLWithPath: lfsList), options: .atomic)  // a stale line names a file that is gone: skipped
        }
    }
}
