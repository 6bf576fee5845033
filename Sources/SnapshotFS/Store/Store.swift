import CGit2
import Foundation
import Synchronization

/// An open repository: the entry point of the engine, vost's `GitStore`.
///
/// Thread safety: a `Store` may be used from any number of threads at once. libgit2 objects
/// are not thread-safe, so the store owns exactly one `GitRepository` and runs every libgit2
/// call under one lock (`git { }`); what comes out is parsed into immutable Swift values
/// (`Tree`, `Commit`, bytes) that are cached by object name and shared without locking.
/// Snapshots are values and may be passed between threads freely. Writers serialise on
/// `vost.lock` only while moving a ref.
public final class Store: @unchecked Sendable {
    // @unchecked: mutable libgit2 state lives in `repository`, reached only through its lock.
    /// The repository directory.
    public let path: String
    /// Author and committer of new commits.
    public let author: String
    /// Email of new commits' author and committer.
    public let email: String
    /// Committer of new commits, when it is not the author (git's `GIT_COMMITTER_*`).
    public let committer: Identity
    /// A trailer line added to every new commit's message (`Vostmount-Host: NAME`), nil for
    /// none.
    public let trailer: String?

    private let repository: Locked<GitRepository>
    // Parsed objects, each cache bounded in bytes, so that the daemon's memory stays bounded
    // whatever the repository (together at most 52 MiB, with libgit2's own 12 MiB: `Libgit2`).
    let trees = ObjectCache<Tree>(budget: 24 << 20) { $0.memoryCost }
    let commits = ObjectCache<Commit>(budget: 8 << 20) { $0.memoryCost }
    /// What history walks read of commits the commit-graph does not hold.
    let summaries = ObjectCache<CommitSummary>(budget: 8 << 20) { _ in 0 }
    /// Blob sizes: 16 MiB holds the sizes of about 150,000 files, so that a walk of a tree
    /// that large (`find`, `ls -lR`) finds them all again the next time.
    let sizes = ObjectCache<Int>(budget: 16 << 20) { _ in 0 }
    /// Listings read ahead (see `Store+Warm`).
    let warmQueue = DispatchQueue(label: "snapshotfs.warm")
    let warmPending = Atomic<Int>(0)
    /// The commit-graph last read, and the identity of its files then (see `commitGraph`).
    let graphCache = Locked(GraphCacheEntry())
    /// Which blobs are LFS pointers (see `lfsPointer`), and whether the repository uses LFS.
    let lfsPointers = ObjectCache<KnownPointer>(budget: 4 << 20) { $0.memoryCost }
    let lfsInUse = Atomic<Bool>(false)
    let lfsCheckedAt = Atomic<UInt64>(0)
    let lock: RepoLock
    let objectsDirectory: String
    /// Which `objects/xx` directories exist, so packed objects are not first tried loose.
    let fanOut: FanOutDirectories
    /// The pack indexes, for streaming large packed blobs (see `PackStream`).
    let packs: PackIndexes
    /// A partial clone's missing objects, fetched when needed; nil for a complete repository.
    let promised: PromisedObjects?
    /// What a partial clone fetched when read, within a bound; nil for a complete repository.
    let fetched: FetchedContent?
    /// A treeless clone's history trees, while they come in bulk (see `Store+TreelessClone`).
    let historyTrees: HistoryTrees?
    /// Inflated large blobs, shared by every reader (see `BlobReader`): at most 4 GiB of
    /// unlinked files in `scratchDirectory`.
    let spools = SpoolCache(capacity: 4 << 30)
    /// Where streaming writers keep their temp files (unlinked at once, mode 0600).
    public var scratchDirectory: String { ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp" }

    private init(_ repo: GitRepository, author: String, email: String, committer: Identity?, trailer: String?) throws {
        path = repo.path
        self.author = author
        self.email = email
        self.committer = committer ?? Identity(name: author, email: email)
        self.trailer = trailer
        lock = RepoLock(repositoryPath: repo.path)
        objectsDirectory = repo.path + "/objects"
        fanOut = FanOutDirectories(objectsDirectory: objectsDirectory)
        packs = PackIndexes(objectsDirectory: objectsDirectory)
        promised = PromisedObjects.remote(of: repo).map { PromisedObjects(remote: $0.name, repository: repo.path, url: $0.url) }
        fetched = promised.map { _ in FetchedContent(repository: repo.path, limit: .max) }
        historyTrees = promised.map { _ in HistoryTrees() }
        try repo.setIdentity(name: self.committer.name, email: self.committer.email)
        repository = Locked(repo)
    }

    /// Opens the repository at `path`, creating it when `create` is true and nothing is there
    /// (vost's `GitStore.open`). A new repository is bare, its `HEAD` names `branch`, every ref
    /// update is logged, and `branch` starts with one commit of the empty tree,
    /// "Initialize <branch>".
    public static func open(_ path: String, create: Bool = true, branch: String = "main",
                            author: String = "vost", email: String = "vost@localhost", committer: Identity? = nil,
                            trailer: String? = nil) throws -> Store {
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        // A folder that cannot be listed is not taken as empty: it is then opened as a
        // repository, which says what is wrong with it.
        let empty = exists && isDirectory.boolValue && ((try? FileManager.default.contentsOfDirectory(atPath: path))?.isEmpty ?? false)
        if exists && !empty {
            guard isDirectory.boolValue else { throw SnapshotError.invalidArgument("\(path) is not a Git repository") }
            let repo: GitRepository
            do { repo = try GitRepository.open(path) } catch {
                // Git's safe.directory rule, which libgit2 applies too: not ours to override,
                // but ours to explain. Debian's libgit2 (1.5) reports it as a missing config
                // value, not as GIT_EOWNER: the owner is looked at here instead.
                if let owners = Self.foreignOwners(path) {
                    let trusted = URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
                    throw SnapshotError.invalidArgument("\(path) is owned by \(owners.owner) and you are \(owners.you): git refuses "
                        + "another user's repository unless it is trusted; trust it with: git config --global --add safe.directory \(trusted)")
                }
                throw SnapshotError.invalidArgument("\(path) is not a Git repository")
            }
            return try Store(repo, author: author, email: email, committer: committer, trailer: trailer)
        }
        guard create else { throw SnapshotError.notFound("no repository at \(path)") }
        let repo = try GitRepository.initBare(path, branch: "refs/heads/\(branch)")
        try repo.setConfig("core.logAllRefUpdates", bool: true)
        let store = try Store(repo, author: author, email: email, committer: committer, trailer: trailer)
        let message = "Initialize \(branch)"
        let commit = try store.writeCommit(tree: store.writeTree([]), parents: [], message: message)
        try store.git { try $0.updateRef("refs/heads/\(branch)", to: commit, expected: nil, message: "commit (initial): \(message)") }
        return store
    }

    /// Who owns `path` and who we are, by name, when they differ.
    static func foreignOwners(_ path: String) -> (owner: String, you: String)? {
        var info = stat()
        guard stat(path, &info) == 0, info.st_uid != geteuid() else { return nil }
        func name(_ uid: uid_t) -> String {
            guard let entry = getpwuid(uid), let name = entry.pointee.pw_name else { return "uid \(uid)" }
            return "\(String(cString: name)) (uid \(uid))"
        }
        return (name(info.st_uid), name(geteuid()))
    }

    /// Runs `body` with the repository under its lock. Keep bodies short: every reader of an
    /// uncached object waits for it.
    func git<R>(_ body: (GitRepository) throws -> R) rethrows -> R {
        try repository.withLock { try body($0) }
    }

    /// The branches, as a dictionary of snapshots (vost's `store.branches`).
    public var branches: RefCollection { RefCollection(store: self, kind: .branch) }
    /// The tags, as a dictionary of read-only snapshots (vost's `store.tags`).
    public var tags: RefCollection { RefCollection(store: self, kind: .tag) }
    /// The default notes namespace, `refs/notes/commits`.
    public var notes: NoteNamespace { NoteNamespace(store: self, name: "commits") }
    /// The notes namespace `refs/notes/<namespace>`.
    public func notes(_ namespace: String) -> NoteNamespace { NoteNamespace(store: self, name: namespace) }

    func signature(at time: Date = Date()) -> Signature { Signature(name: author, email: email, time: time) }

    // MARK: Objects

    /// A small object's content: from its loose file if it has one (no lock needed: loose
    /// objects never change once renamed into place), else through libgit2 (packs).
    func smallObject(_ id: ObjectID) throws -> (type: git_object_t, data: [UInt8]) {
        if fanOut.mayHoldLoose(id), let loose = try LooseObjects.read(id, objectsDirectory: objectsDirectory) {
            return (loose.type.git, loose.data)
        }
        return try git { try $0.read(id) }
    }

    /// An object a tree names but the repository lacks is a damaged repository, not a
    /// missing name: EIO for that entry (`git`), never ENOENT (`notFound`). A partial clone
    /// first fetches it from its promisor remote (with no lock held), then reads again.
    /// `walking`: a tree read by a walk through history, which may wait for the bulk fetch of
    /// a treeless clone's trees (`HistoryTrees`); never under the workspace's lock.
    func present<R>(_ id: ObjectID, walking: Bool = false, _ body: () throws -> R) throws -> R {
        do { return try body() } catch SnapshotError.notFound {
            if promised != nil {
                try fetchPromised([id], walking: walking)
                do { return try body() } catch SnapshotError.notFound {}
            }
            throw SnapshotError.git(code: GIT_ENOTFOUND.rawValue, klass: 0, message: "object \(id) is missing from the repository")
        }
    }

    /// A tree by name, parsed once and cached (trees never change).
    public func tree(_ id: ObjectID) throws -> Tree {
        if id == .emptyTree { return .empty }
        if let hit = trees.get(id) { return hit }
        let (type, data) = try present(id) { try smallObject(id) }
        guard type == GIT_OBJECT_TREE else { throw SnapshotError.notADirectory("\(id) is not a tree") }
        let tree = try Tree.parse(data, id: id)
        trees.put(id, tree)
        noteLFSAttributes(of: tree)
        return tree
    }

    /// A commit by name, parsed once and cached.
    public func commit(_ id: ObjectID) throws -> Commit {
        if let hit = commits.get(id) { return hit }
        let (type, data) = try smallObject(id)
        guard type == GIT_OBJECT_COMMIT else { throw SnapshotError.invalidRevision("\(id) is not a commit") }
        let commit = try Commit.parse(data, id: id)
        commits.put(id, commit)
        return commit
    }

    /// A blob's whole content (prefer `BlobReader`, which streams): a loose one is inflated with
    /// no lock held, a packed one by libgit2 under its lock (`BlobReader` streams past 8 MiB).
    public func blob(_ id: ObjectID) throws -> [UInt8] {
        let (type, data) = try present(id) { try smallObject(id) }
        guard type == GIT_OBJECT_BLOB else { throw SnapshotError.isADirectory("\(id) is not a blob") }
        sizes.put(id, data.count)
        return data
    }

    /// A blob's size, read from the object header without inflating the content.
    public func blobSize(_ id: ObjectID) throws -> Int {
        if let hit = sizes.get(id) { return hit }
        if let told = promised?.knownSize(id) { return told }  // a partial clone's server said
        let (_, size) = try present(id) { try git { try $0.header(id) } }
        sizes.put(id, size)
        return size
    }

    /// Whether the object is in the repository (loose or packed).
    public func hasObject(_ id: ObjectID) -> Bool { git { $0.exists(id) } }

    func writeBlob(_ bytes: [UInt8]) throws -> ObjectID {
        try writeLoose(.blob, bytes)
    }

    /// Writes a loose object (`LooseObjects`): hashing, deflating and the file's writes run
    /// with no lock held; only "is it stored already?" asks libgit2, under its lock.
    func writeLoose(_ type: ObjectType, _ data: [UInt8]) throws -> ObjectID {
        try LooseObjects.write(type, data, objectsDirectory: objectsDirectory) { id in git { $0.existsNoRefresh(id) } }
    }

    func writeTree(_ entries: [TreeEntry]) throws -> ObjectID {
        let data = Tree.serialize(entries)
        let id = try writeLoose(.tree, data)
        trees.put(id, Tree(entries: entries))
        return id
    }

    func writeCommit(tree: ObjectID, parents: [ObjectID], message: String, time: Date = Date()) throws -> ObjectID {
        let signature = signature(at: time)
        let committed = Signature(name: committer.name, email: committer.email, time: time)
        var message = message
        if let trailer, !message.contains("\n\(trailer)") {
            while message.hasSuffix("\n") { message.removeLast() }
            message += "\n\n" + trailer
        }
        let data = Commit.serialize(tree: tree, parents: parents, author: signature, committer: committed, message: message)
        let id = try writeLoose(.commit, data)
        // Cached as written, so the snapshot of a new commit costs no read back.
        let second = Date(timeIntervalSince1970: time.timeIntervalSince1970.rounded(.down))
        let text = message.hasSuffix("\n") ? message : message + "\n"
        commits.put(id, Commit(id: id, tree: tree, parents: parents, author: Signature(name: signature.name, email: signature.email, time: second),
                               committer: Signature(name: committer.name, email: committer.email, time: second), message: text))
        return id
    }

    /// Resolves a full ref name to the commit it names (peeling annotated tags); nil if absent.
    func commitID(ofRef name: String) throws -> ObjectID? {
        try git { repo in
            guard let id = try repo.resolve(ref: name) else { return nil }
            return try repo.peelToCommit(id)
        }
    }

    /// A snapshot of any commit, read-only and detached.
    public func snapshot(of id: ObjectID) throws -> Snapshot {
        Snapshot(store: self, commit: try commit(id), refName: nil, writable: false)
    }
}

extension Store {
    /// Flushes everything written to the repository's filesystem to the disk (`syncfs`):
    /// after it, the objects and refs of every commit made so far survive a power cut.
    public func syncToDisk() throws {
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw SnapshotError.posix("cannot open \(path)") }
        defer { close(fd) }
        guard vost_syncfs(fd) == 0 else { throw SnapshotError.posix("cannot sync \(path)") }
    }
}
