import Foundation

/// A branch as a mutable tree of live nodes: the pending batch of a read-write mount.
///
/// Programs change it one operation at a time (create, write at an offset, rename...) and see
/// their changes at once; `commit` turns everything pending into one commit, applied path by
/// path onto the branch's new tip if another writer moved it meanwhile. File data being
/// written is staged on disk (see `StagedFile`), small files in memory up to a budget.
///
/// Only the directories someone looked into are loaded; the rest stay references to
/// committed trees. Thread-safe: one lock guards the tree; committed blobs are read by the
/// caller outside it (`ReadSource.blob`).
public final class Workspace: @unchecked Sendable {
    // @unchecked: the tree and `base` are only touched under `lock`.
    /// The repository the branch lives in.
    public let store: Store
    /// The branch the batch commits to.
    public let branch: String
    /// Git LFS pointers are read as their objects, and written (see `init`).
    public let lfs: Bool
    public let lfsThreshold: Int?
    /// The branch's root directory; it stays the same node across commits.
    public let root: WorkNode
    let lock = NSLock()
    var _base: Snapshot
    /// Where staged files are made (a directory of mode 0700).
    let stagingDirectory: String
    /// `stagingDirectory`, opened once by `prepareStaging` (under the lock): files are made
    /// in the folder that was checked, whatever its path comes to name later.
    var stagingFolder: Int32 = -1
    /// Bytes of pending file content kept in memory; past the budget, files are staged.
    var memoryBytes = 0
    static let memoryBudget = 32 << 20
    /// A file stays in memory while it is at most this large.
    static let smallFile = 64 << 10
    /// Set with `setxattr user.vost.message`: the message of the next commit.
    var nextMessage: String?
    /// Monotonic seconds of the last change, for the quiet-mount commit.
    var lastChange = Workspace.now()
    var openWriters = 0
    /// Files and directories changed since the last commit, for `pendingChanges`.
    var changedNodes = Set<ObjectIdentifier>()
    /// Called outside the lock with what changed under the kernel's feet (a commit applied on
    /// a moved tip, or another writer's commit taken in): names and nodes to forget.
    public var onInvalidate: (@Sendable ([Invalidation]) -> Void)?
    /// Called outside the lock with the conflict copies a commit made when it merged this
    /// batch onto a tip another writer had moved (see `commit`).
    public var onConflicts: (@Sendable ([RepoPath]) -> Void)?

    /// What the kernel (or any cache of names) must forget after another writer's change.
    public enum Invalidation: Sendable {
        case entry(parent: WorkNode, name: [UInt8])
        case node(WorkNode)
    }

    /// Opens the branch for changes; staged data goes to `staging` (created `0700` if
    /// missing), by default `vostmount-staging` in the repository.
    /// `lfs`: Git LFS pointers read as the objects they point to (see `BlobReader`): their
    /// size, and the content a write starting from them copies.
    /// With `lfs`, new content goes to LFS where `.gitattributes` says `filter=lfs`, and,
    /// with `lfsThreshold`, whenever it is larger than that many bytes.
    public init(store: Store, branch: String, staging: String? = nil, lfs: Bool = false, lfsThreshold: Int? = nil) throws {
        self.store = store
        self.lfs = lfs
        self.lfsThreshold = lfsThreshold
        self.branch = branch
        _base = try store.branches.tipOrUnborn(branch)
        root = WorkNode(mode: .directory, content: .tree(_base.treeID), parent: nil)
        stagingDirectory = staging ?? store.path + "/vostmount-staging"
    }

    /// Makes sure the staging directory exists and is private (`0700`), so that a bad
    /// `--staging` is an error before anything is written.
    /// The default one, inside the repository, is opened with no symlink on the way (a
    /// repository's author could point it anywhere); a `staging` path given by the user is
    /// followed as given.
    public func prepareStaging() throws {
        try locked { _ = try stagingDescriptor() }
    }

    /// The staging folder, opened (and made) on first use. Under the lock.
    func stagingDescriptor() throws -> Int32 {
        if stagingFolder >= 0 { return stagingFolder }
        if mkdir(stagingDirectory, 0o700) != 0, errno != EEXIST {
            throw SnapshotError.posix("cannot create staging directory \(stagingDirectory)")
        }
        let inRepository = stagingDirectory == store.path + "/vostmount-staging"
        let fd = open(stagingDirectory, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (inRepository ? O_NOFOLLOW : 0))
        guard fd >= 0 else {
            throw SnapshotError.posix("staging directory \(stagingDirectory) is not a directory\(inRepository ? " (a symlink is refused)" : "")")
        }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & 0o077 == 0 || fchmod(fd, 0o700) == 0 else {
            close(fd)
            throw SnapshotError.posix("cannot make \(stagingDirectory) private")
        }
        stagingFolder = fd
        return fd
    }

    deinit { if stagingFolder >= 0 { close(stagingFolder) } }

    static func now() -> TimeInterval {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return TimeInterval(ts.tv_sec) + TimeInterval(ts.tv_nsec) / 1e9
    }

    func locked<R>(_ body: () throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    /// The commit the pending changes apply to (the tip as last committed or taken in).
    public var base: Snapshot { locked { _base } }

    /// Whether anything is waiting to be committed.
    public var hasPending: Bool { locked { root.committedID == nil } }

    /// What the commit policy needs: pending or not, descriptors open for writing, and
    /// seconds since the last change.
    public var activity: (pending: Bool, writers: Int, quietFor: TimeInterval) {
        locked { (root.committedID == nil, openWriters, Self.now() - lastChange) }
    }

    /// How many files and directories have changes not committed yet (a new file counts
    /// itself and its directory).
    public var pendingChanges: Int { locked { root.committedID == nil ? changedNodes.count : 0 } }

    /// Sets (or, with nil, clears) the message of the next commit instead of the automatic one.
    public func setMessage(_ message: String?) { locked { nextMessage = message } }

    // MARK: Reading

    /// The names of a directory, loading it from its tree the first time.
    func entries(_ dir: WorkNode) throws -> [[UInt8]: WorkNode] {
        switch dir.content {
        case .directory(let entries, _): return entries
        case .tree(let id):
            var entries: [[UInt8]: WorkNode] = [:]
            let tree = try store.tree(id)
            entries.reserveCapacity(tree.entries.count)
            for entry in tree.entries { entries[entry.name] = .committed(entry, parent: dir) }
            dir.content = .directory(entries: entries, committed: id)
            return entries
        default:
            throw SnapshotError.notADirectory("not a directory")
        }
    }

    /// The node `name` in `dir`, nil if there is none.
    /// A directory that another writer's commit removed answers `superseded`, so the kernel
    /// looks its path up again instead of finding names in what is gone.
    public func child(_ dir: WorkNode, _ name: [UInt8]) throws -> WorkNode? {
        try locked {
            if dir.superseded { throw SnapshotError.superseded("the directory was removed by another writer's commit") }
            return try entries(dir)[name]
        }
    }

    /// A directory's entries sorted by name (bytes), as a listing shows them.
    public func children(_ dir: WorkNode) throws -> [(name: [UInt8], node: WorkNode)] {
        try locked {
            try entries(dir).map { ($0.key, $0.value) }.sorted { $0.name.lexicographicallyPrecedes($1.name) }
        }
    }

    /// A number that changes whenever `dir`'s names do, for caches of its listing.
    public func version(_ dir: WorkNode) -> UInt64 { locked { dir.version } }

    /// What `node` is now.
    public func mode(_ node: WorkNode) -> FileMode { locked { node.mode } }

    /// What `stat` needs of `node`: mode, size, change time and subdirectory count.
    /// The tree a directory shows as committed, nil if it is not a directory or something in
    /// it is pending (then its files' blobs are those of the tree it was read from, or new).
    public func committedTree(_ node: WorkNode) -> ObjectID? {
        locked {
            switch node.content {
            case .tree(let id): return id
            case .directory(_, let committed): return committed
            default: return nil
            }
        }
    }

    /// Reads what it needs of objects (a blob's size, a tree's folders) after the lock: an
    /// object may have to be inflated, or fetched from a partial clone's promisor remote.
    public func info(_ node: WorkNode) throws -> WorkInfo {
        var object: ObjectID?
        var info: WorkInfo = locked {
            var info = WorkInfo(mode: node.mode, size: 0, times: node.times, subdirectories: 0)
            switch node.content {
            case .blob(let id): object = node.isGitlink ? nil : id
            case .bytes(let bytes): info.size = bytes.count
            case .staged(let file): info.size = file.size
            case .tree(let id): object = id
            case .directory(let entries, _): info.subdirectories = entries.values.count { $0.isDirectory }
            }
            return info
        }
        guard let object else { return info }
        if node.isDirectory {
            info.subdirectories = try store.tree(object).directoryCount
        } else {
            info.size = try lfs ? store.contentSize(object) : store.blobSize(object)
        }
        return info
    }

    /// Where to read `count` bytes at `offset` of a file or symlink.
    public func read(_ node: WorkNode, at offset: Int, count: Int) throws -> ReadSource {
        try locked {
            switch node.content {
            case .blob(let id): return .blob(id)
            case .bytes(let bytes):
                let start = min(max(offset, 0), bytes.count)
                return .bytes(Array(bytes[start..<min(bytes.count, start + count)]))
            case .staged(let file): return .bytes(try file.read(at: offset, count: count))
            case .tree, .directory: throw SnapshotError.isADirectory("is a directory")
            }
        }
    }

    /// A symlink's target.
    public func readLink(_ node: WorkNode) throws -> [UInt8] {
        guard locked({ node.mode }) == .symlink else { throw SnapshotError.invalidArgument("not a symlink") }
        switch try read(node, at: 0, count: Int.max) {
        case .bytes(let bytes): return bytes
        case .blob(let id): return try store.blob(id)
        }
    }
}
