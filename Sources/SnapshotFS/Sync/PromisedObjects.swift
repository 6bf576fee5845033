import Foundation

/// The objects a partial clone (`git clone --filter=blob:none`) does not have yet: its
/// promisor remote keeps them and hands them out on request. libgit2 1.5 knows nothing of
/// promisors, so they are fetched through `git fetch REMOTE OID...` (the request git itself
/// makes for a missing object, with the same credentials), then read as usual.
///
/// Thread-safe: `condition` guards `inFlight` and `failures`, and is never held while git
/// runs. A fetch holds no lock of the store or the workspace; a caller asking for an object
/// another caller is fetching waits for that fetch (and only for it); callers asking for
/// other objects fetch at the same time.
final class PromisedObjects: @unchecked Sendable {
    // @unchecked: `inFlight` and `failures` are under `condition`.
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

    init(remote: String, repository: String) {
        self.remote = remote
        self.repository = repository
    }

    /// The promisor remote of the repository at `path`, nil if it is complete: a remote with
    /// `remote.NAME.promisor = true`, or the one `extensions.partialClone` names.
    static func remote(of repo: GitRepository) -> String? {
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
                output = try GitCommand(repository: repository).run(
                    ["-c", "fetch.negotiationAlgorithm=noop", "fetch", remote, "--no-tags", "--no-write-fetch-head",
                     "--recurse-submodules=no", "--filter=blob:none", "--quiet"] + chunk.map(\.hex), timeout: timeout)
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
        try fetchMissingBlobs(try tree(id).entries.filter { $0.mode.isFile || $0.mode == .symlink }.map(\.id))
    }

    /// Fetches, in one request, those of `blobs` this partial clone lacks.
    public func fetchMissingBlobs(_ blobs: [ObjectID]) throws {
        guard promised != nil else { return }
        let missing = git { repo in blobs.filter { !repo.exists($0) } }
        if !missing.isEmpty { try fetchPromised(missing) }
    }

    /// Fetches missing objects from the promisor remote and makes them readable.
    func fetchPromised(_ ids: [ObjectID]) throws {
        guard let promised else { throw SnapshotError.notFound("no promisor remote") }
        try promised.fetch(ids) {
            try git { try $0.refresh() }
            packs.rescanSoon()
        }
    }
}
