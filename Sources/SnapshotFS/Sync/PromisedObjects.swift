import Foundation

/// The objects a partial clone (`git clone --filter=blob:none`) does not have yet: its
/// promisor remote keeps them and hands them out on request. libgit2 1.5 knows nothing of
/// promisors, so they are fetched through `git fetch REMOTE OID...` (the request git itself
/// makes for a missing object, with the same credentials), then read as usual.
///
/// Thread-safe: `condition` guards every mutable field (objects in flight, failures, counts,
/// sizes told, listed folders), and is never held while git runs or the server is asked. A
/// fetch holds no lock of the store or the workspace; a caller asking for an object another
/// caller is fetching waits for that fetch (and only for it); callers asking for other
/// objects fetch at the same time.
final class PromisedObjects: @unchecked Sendable {
    // @unchecked: every mutable field is under `condition`.
    /// The promisor remote's name.
    let remote: String
    private let repository: String
    private let condition = NSCondition()
    private var inFlight: Set<ObjectID> = []
    /// Objects whose last fetch failed, and when: asked again within `retryAfter`, they fail
    /// at once with the same reason (offline, a file read again and again must not start a
    /// `git fetch` per read).
    private var failures: [ObjectID: (time: Double, reason: String)] = [:]
    static let retryAfter: Double = 10
    /// At most this many names per `git fetch` (its argument list).
    static let batch = 1000
    /// A fetch that takes longer is stopped: the read fails with EIO instead of hanging.
    var timeout: TimeInterval = 60
    /// Objects fetched, and fetches run, since the mount started (for `@/status`).
    private(set) var fetchedObjects = 0
    private(set) var fetches = 0
    /// The promisor remote's URL, for `ObjectInfo`, and the way to it, found once (for ssh,
    /// that asks git for `core.sshCommand`).
    private let url: String?
    private var transport: ObjectInfo.Transport??
    /// Sizes the server told (`ObjectInfo`) of objects not fetched: a listing's sizes without
    /// their contents. At most `sizesKept`, forgotten all at once past that.
    private var knownSizes: [ObjectID: Int] = [:]
    static let sizesKept = 500_000
    /// Whether the server answers `object-info`: nil until asked.
    private var answersObjectInfo: Bool?
    /// The missing blobs of the folders listed last, when each was listed, and how many of
    /// each were fetched one by one since. A program reading a folder through (`tar`, `cp -r`,
    /// `grep -r`) lists it and reads its first file at once: a file of a folder listed less
    /// than `readingThrough` ago brings the rest of the folder in the same request, and so
    /// does the second file read later. So `tar` of a folder costs two requests (its sizes,
    /// then its contents), not one per file, while `ls -l` then, later, `cat` of one file
    /// fetches that one file.
    private var folders: [(blobs: Set<ObjectID>, listed: Double, fetched: Int)] = []
    static let foldersKept = 16
    static let readingThrough: Double = 1

    init(remote: String, repository: String, url: String?) {
        self.remote = remote
        self.repository = repository
        self.url = url
    }

    func knownSize(_ id: ObjectID) -> Int? { condition.withLock { knownSizes[id] } }

    /// Asks the server the sizes of `ids` without their contents; false if it cannot answer
    /// (its transport or server has no `object-info`, remembered; or the request failed).
    func learnSizes(_ ids: [ObjectID]) -> Bool {
        guard let url, condition.withLock({ answersObjectInfo }) != false else { return false }
        let found = condition.withLock { transport } ?? ObjectInfo.Transport(url, repository: repository)
        condition.withLock { transport = found }
        guard let found else { return false }
        let answer: [ObjectID: Int]?
        do { answer = try ObjectInfo.sizes(of: ids, through: found) } catch { return false }
        return condition.withLock {
            guard let answer else {
                answersObjectInfo = false
                return false
            }
            answersObjectInfo = true
            if knownSizes.count + answer.count > Self.sizesKept { knownSizes = [:] }
            knownSizes.merge(answer) { $1 }
            return ids.allSatisfy { knownSizes[$0] != nil }
        }
    }

    /// Notes a listed folder's missing blobs, for `readahead`.
    func noteFolder(_ blobs: [ObjectID]) {
        condition.withLock {
            folders.append((Set(blobs), ProcessInfo.processInfo.systemUptime, 0))
            if folders.count > Self.foldersKept { folders.removeFirst() }
        }
    }

    /// The rest of a listed folder when `id` is read right after the listing, or is the
    /// second of its blobs fetched on its own (see `folders`).
    func readahead(for id: ObjectID) -> [ObjectID] {
        condition.withLock {
            guard let index = folders.lastIndex(where: { $0.blobs.contains(id) }) else { return [] }
            folders[index].fetched += 1
            let recent = ProcessInfo.processInfo.systemUptime - folders[index].listed < Self.readingThrough
            guard recent || folders[index].fetched >= 2 else { return [] }
            let rest = folders[index].blobs
            folders.remove(at: index)
            return Array(rest)
        }
    }

    /// The promisor remote of the repository at `path`, nil if it is complete: a remote with
    /// `remote.NAME.promisor = true`, or the one `extensions.partialClone` names.
    static func remote(of repo: GitRepository) -> (name: String, url: String?)? {
        guard let name = remoteName(of: repo) else { return nil }
        return (name, repo.configString("remote.\(name).url"))
    }

    private static func remoteName(of repo: GitRepository) -> String? {
        if let named = repo.configString("extensions.partialclone"), !named.isEmpty { return named }
        return repo.remoteNames().first { repo.configString("remote.\($0).promisor")?.lowercased() == "true" }
    }

    var status: (fetchedObjects: Int, fetches: Int, inFlight: Int) {
        condition.withLock { (fetchedObjects, fetches, inFlight.count) }
    }

    /// Fetches those of `ids` (all missing locally) that no other caller is fetching, and waits
    /// for those that one is. Returns once every one was fetched or failed; `remote(...)` with
    /// git's reason if any of ours failed.
    func fetch(_ ids: [ObjectID], refresh: () throws -> Void) throws {
        let now = ProcessInfo.processInfo.systemUptime
        let (mine, theirs, failed): ([ObjectID], [ObjectID], String?) = condition.withLock {
            var mine: [ObjectID] = [], theirs: [ObjectID] = []
            for id in Set(ids) {
                if let failure = failures[id], now - failure.time < Self.retryAfter { return ([], [], failure.reason) }
                if inFlight.contains(id) { theirs.append(id) } else { mine.append(id); inFlight.insert(id) }
            }
            return (mine, theirs, nil)
        }
        if let failed { throw SnapshotError.remote(failed) }
        var reason: String?
        for start in stride(from: 0, to: mine.count, by: Self.batch) {
            let chunk = Array(mine[start..<min(mine.count, start + Self.batch)])
            let output: GitCommand.Output
            do {
                output = try GitCommand(repository: repository).run(Self.fetchArguments(remote: remote, ids: chunk), timeout: timeout)
            } catch {
                reason = "\(error)"
                finish(chunk, failed: reason)
                continue
            }
            if output.status == 0 {
                do { try refresh() } catch { reason = "\(error)" }
                finish(chunk, failed: nil)
            } else {
                reason = "cannot fetch \(chunk.count) missing object(s) from \(remote): \(output.message)"
                finish(chunk, failed: reason)
            }
        }
        condition.withLock {
            while theirs.contains(where: { inFlight.contains($0) }) { condition.wait() }
        }
        if let reason { throw SnapshotError.remote(reason) }
    }

    /// git's arguments to fetch `ids` by name from a promisor remote, as git itself does for a
    /// missing object; with no `gc --auto` at the end of a fetch a reader waits for.
    static func fetchArguments(remote: String, ids: [ObjectID]) -> [String] {
        ["-c", "fetch.negotiationAlgorithm=noop", "fetch", remote, "--no-tags", "--no-write-fetch-head",
         "--recurse-submodules=no", "--filter=blob:none", "--no-auto-gc", "--quiet"] + ids.map(\.hex)
    }

    private func finish(_ ids: [ObjectID], failed reason: String?) {
        condition.withLock {
            for id in ids {
                inFlight.remove(id)
                if let reason { failures[id] = (ProcessInfo.processInfo.systemUptime, reason) } else { failures[id] = nil }
            }
            fetches += 1
            if reason == nil { fetchedObjects += ids.count }
            condition.broadcast()
        }
    }
}

extension Store {
    /// Whether this is a partial clone, whose missing objects are fetched when needed.
    public var isPartialClone: Bool { promised != nil }

    /// Objects fetched and fetches run for this partial clone since it was opened, and
    /// fetches in flight; nil for a complete repository.
    public var promisedStatus: (fetchedObjects: Int, fetches: Int, inFlight: Int)? { promised?.status }

    /// Fetches, in one request, the blobs of the tree `id` (its files, not its folders) that
    /// this partial clone lacks: what a program reading a whole folder (`tar`, `cp -r`,
    /// `grep -r`) is about to need, instead of one request per file. Nothing for a
    /// complete repository or when every blob is here.
    public func fetchMissingBlobs(inTree id: ObjectID) throws {
        guard promised != nil else { return }
        let entries = try tree(id).entries
        try fetchMissingBlobs(entries.filter { $0.mode.isFile }.map(\.id), symlinks: entries.filter { $0.mode == .symlink }.map(\.id))
    }

    /// Fetches, in one request, those of `blobs` this partial clone lacks.
    ///
    /// Where the server answers `object-info` (`ObjectInfo`), only their sizes are asked (and
    /// the contents of those small enough to be LFS pointers, in a repository that uses LFS:
    /// telling a pointer needs its text); the contents then come when read (see
    /// `PromisedObjects.folders`). `symlinks` come whole, a few bytes each: `ls -l`, `find`
    /// and `tar` read every target, and a target read alone would bring the whole folder.
    public func fetchMissingBlobs(_ blobs: [ObjectID], symlinks: [ObjectID] = []) throws {
        guard let promised else { return }
        let (missing, contents) = git { repo in (blobs.filter { !repo.exists($0) }, symlinks.filter { !repo.exists($0) }) }
        var wanted = contents
        // A folder listed again (a long listing is read in several calls) knows its sizes.
        if !missing.isEmpty, missing.contains(where: { promised.knownSize($0) == nil }) {
            promised.noteFolder(missing)
            if !promised.learnSizes(missing) {
                wanted += missing
            } else if lfsInUse.load(ordering: .relaxed) {
                wanted += missing.filter { (promised.knownSize($0) ?? 0) <= LFSPointer.maxLength }
            }
        }
        if !wanted.isEmpty { try fetchPromised(wanted, readingAhead: false) }
    }

    /// Fetches missing objects from the promisor remote and makes them readable; one object
    /// fetched alone may bring the rest of its folder (`PromisedObjects.readahead`).
    func fetchPromised(_ ids: [ObjectID], readingAhead: Bool = true, walking: Bool = false) throws {
        guard let promised else { throw SnapshotError.notFound("no promisor remote") }
        // A walk's tree, asked while the history's trees come in bulk, may have come with them.
        if walking, let historyTrees, historyTrees.waitedForBulk() {
            try git { try $0.refresh() }
            packs.rescanSoon()
            if git({ repo in ids.allSatisfy { repo.exists($0) } }) { return }
        }
        var ids = ids
        if readingAhead, !walking, ids.count == 1 {
            let rest = promised.readahead(for: ids[0])
            if !rest.isEmpty { ids += git { repo in rest.filter { $0 != ids[0] && !repo.exists($0) } } }
        }
        try promised.fetch(ids) {
            try git { try $0.refresh() }
            packs.rescanSoon()
        }
        trimFetchedContent()
    }
}
