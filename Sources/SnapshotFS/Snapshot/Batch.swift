import Foundation

/// Many writes and removals that become one commit (vost's `fs.batch()`).
///
/// Blobs are written as the batch goes (outside any lock); trees, the commit and the ref move
/// happen in `commit()`. A batch that is dropped, or whose closure throws, commits nothing;
/// the blobs it wrote are unreferenced and `git gc` removes them. Thread-safe.
public final class Batch: @unchecked Sendable {
    // @unchecked: the draft and the sink are only touched under `state`'s lock.
    /// The snapshot the batch started from: its branch is the one `commit()` moves.
    public let base: Snapshot
    private let state: Locked<Pending>
    private let extraParents: [ObjectID]
    /// Remove directories a removal leaves empty (vost's rule). A mount turns this off,
    /// since on a disk `rm dir/last` leaves `dir`.
    let pruneEmptyDirectories: Bool

    init(base: Snapshot, parents: [ObjectID] = [], pruneEmptyDirectories: Bool = true) throws {
        guard base.writable, base.refName != nil else {
            throw SnapshotError.readOnly("\(base.refName ?? base.commitHash) is not a branch")
        }
        self.base = base
        self.extraParents = parents
        self.pruneEmptyDirectories = pruneEmptyDirectories
        state = Locked(Pending(draft: try TreeDraft(store: base.store, base: base.treeID), sink: ObjectSink(store: base.store)))
    }

    /// The pending tree and the new objects it refers to, which change together.
    final class Pending {
        let draft: TreeDraft
        let sink: ObjectSink
        init(draft: TreeDraft, sink: ObjectSink) {
            self.draft = draft
            self.sink = sink
        }
    }

    var store: Store { base.store }

    func withDraft<R>(_ body: (TreeDraft) throws -> R) rethrows -> R { try state.withLock { try body($0.draft) } }

    /// Adds a blob to the batch's new objects and puts it at `path`.
    func put(_ path: RepoPath, mode: FileMode, blob bytes: [UInt8]) throws {
        try state.withLock { pending in
            let id = try pending.sink.add(.blob, bytes)
            try pending.draft.set(path, mode: mode, id: id)
        }
    }

    /// Reads an open file into the batch: small ones join the batch's objects (one pack for
    /// many), large ones are streamed to a loose object at once.
    func put(_ path: RepoPath, mode: FileMode, descriptor fd: Int32, size: Int) throws {
        if size <= ObjectSink.largeBlob {
            try put(path, mode: mode, blob: try Store.readAll(fd, size: size))
        } else {
            let id = try store.writeBlob(fromDescriptor: fd, size: size)
            try withDraft { try $0.set(path, mode: mode, id: id) }
        }
    }

    // MARK: Writes

    /// Stages a file with `bytes` (`.file` or `.executable`); replaces what was at `path`.
    public func write(_ path: RepoPath, _ bytes: [UInt8], mode: FileMode = .file) throws {
        try checkFileMode(mode)
        try put(path, mode: mode, blob: bytes)
    }

    /// Stages a text file (UTF-8).
    public func write(_ path: RepoPath, text: String, mode: FileMode = .file) throws {
        try write(path, Array(text.utf8), mode: mode)
    }

    /// Streams a file from disk; its mode is taken from the disk (executable or not) unless given.
    public func write(_ path: RepoPath, fromFile localPath: String, mode: FileMode? = nil) throws {
        let resolved = try mode ?? FileMode.onDisk(localPath, followLinks: true)
        try checkFileMode(resolved)
        try Store.withOpenFile(localPath) { fd, size in try put(path, mode: resolved, descriptor: fd, size: size) }
    }

    /// Stages a symlink to `target` (stored as the blob of the target, mode 120000).
    public func writeSymlink(_ path: RepoPath, target: String) throws {
        try writeSymlink(path, target: Array(target.utf8))
    }

    /// Stages a symlink whose target is bytes (Linux targets need not be UTF-8).
    public func writeSymlink(_ path: RepoPath, target: [UInt8]) throws {
        try put(path, mode: .symlink, blob: target)
    }

    /// Puts an existing object at `path` (a blob or a whole tree), without copying data.
    public func set(_ path: RepoPath, entry: TreeEntry) throws {
        try withDraft { try $0.set(path, mode: entry.mode, id: entry.id) }
    }

    /// Makes an empty directory (stored as the empty tree, so it survives a remount).
    public func makeDirectory(_ path: RepoPath) throws {
        let empty = try store.writeTree([])
        try withDraft { draft in
            if try draft.node(at: path) != nil { throw SnapshotError.alreadyExists(path.string) }
            try draft.set(path, mode: .directory, id: empty)
        }
    }

    /// Removes a file, or a directory when `recursive`; `notFound` if nothing is there.
    public func remove(_ path: RepoPath, recursive: Bool = false) throws {
        try withDraft { draft in
            guard let node = try draft.node(at: path) else { throw SnapshotError.notFound(path.string) }
            if !recursive, Self.isDirectory(node) { throw SnapshotError.isADirectory(path.string) }
            try draft.remove(path, prune: pruneEmptyDirectories)
        }
    }

    /// Renames a file or a directory; what is at `destination` is replaced.
    public func move(_ source: RepoPath, to destination: RepoPath) throws {
        guard !destination.hasPrefix(source) || destination == source else {
            throw SnapshotError.invalidArgument("cannot move \(source) into itself")
        }
        guard source != destination else { return }
        try withDraft { draft in
            guard let node = try draft.take(source) else { throw SnapshotError.notFound(source.string) }
            if pruneEmptyDirectories, source.components.count > 1,
               case .directory(let dir)? = try draft.node(at: source.parent), dir.entries.isEmpty {
                try draft.remove(source.parent, prune: true)
            }
            try draft.put(node, at: destination)
        }
    }

    /// The pending entry at `path`, nil if absent; directories come back as directory entries.
    public func entry(at path: RepoPath) throws -> FileMode? {
        try withDraft { draft in
            switch try draft.node(at: path) {
            case nil: return nil
            case .directory?: return .directory
            case .entry(let entry)?: return entry.mode
            }
        }
    }

    /// A streaming writer whose data becomes `path` in this batch when closed.
    public func writer(_ path: RepoPath, mode: FileMode = .file) throws -> FileWriter {
        try FileWriter(directory: store.scratchDirectory) { [self] fd, size in
            try put(path, mode: mode, descriptor: fd, size: size)
            return nil
        }
    }

    // MARK: Commit

    /// Writes the pending tree and, if it differs from the base, one commit, then moves the
    /// branch under `vost.lock` if it still points at the base. Returns the new snapshot
    /// (the base itself, with an empty report, when nothing changed).
    public func commit(message: String? = nil) throws -> Snapshot {
        let tree = try state.withLock { pending in
            let tree = try pending.draft.writeTree(into: pending.sink)
            try pending.sink.flush()
            return tree
        }
        let changes = try store.diff(from: base.treeID, to: tree)
        return try store.commit(onto: base, tree: tree, changes: changes, message: message, extraParents: extraParents)
    }

    static func isDirectory(_ node: TreeDraft.Node) -> Bool {
        if case .entry(let entry) = node { return entry.mode.isDirectory }
        return true
    }

    private func checkFileMode(_ mode: FileMode) throws {
        guard mode == .file || mode == .executable || mode == .symlink else {
            throw SnapshotError.invalidArgument("a file cannot have mode \(mode)")
        }
    }
}

extension FileMode {
    /// The mode a file on disk is stored with: executable if any execute bit is set.
    static func onDisk(_ path: String, followLinks: Bool) throws -> FileMode {
        var info = stat()
        let code = followLinks ? stat(path, &info) : lstat(path, &info)
        guard code == 0 else { throw errno == ENOENT ? SnapshotError.notFound(path) : SnapshotError.posix("cannot stat \(path)") }
        switch info.st_mode & S_IFMT {
        case S_IFLNK: return .symlink
        case S_IFDIR: return .directory
        default: return info.st_mode & 0o111 != 0 ? .executable : .file
        }
    }
}

extension Store {
    /// Makes the commit of `tree` on top of `base` and moves the branch to it, if the branch
    /// still points at `base`. Objects are written before `vost.lock` is taken; under it there
    /// is only the check and the ref update.
    func commit(onto base: Snapshot, tree: ObjectID, changes: ChangeReport, message: String?,
                extraParents: [ObjectID] = [], reflogPrefix: String = "commit") throws -> Snapshot {
        guard base.writable, let branch = base.refName else { throw SnapshotError.readOnly("\(base.commitHash) is not a branch") }
        let ref = "refs/heads/\(branch)"
        // An unborn branch (an empty repository) is expected to be absent still.
        let expected: ObjectID? = base.isUnborn ? nil : base.commitID
        if tree == base.treeID && extraParents.isEmpty {
            // Nothing to commit, but a stale base must still be reported as stale.
            guard try git({ try $0.resolve(ref: ref) }) == expected else { throw SnapshotError.stale("branch \(branch) has moved") }
            var same = base
            same.changes = changes
            return same
        }
        let text = message ?? changes.message
        let id = try writeCommit(tree: tree, parents: (expected.map { [$0] } ?? []) + extraParents, message: text)
        // libgit2 compares the ref with the base under the ref's own lock file (git's
        // protocol); vost.lock around it keeps vost and other vostmount writers in line too.
        do {
            try updatingRefs { try $0.updateRef(ref, to: id, expected: expected, message: "\(reflogPrefix)\(expected == nil ? " (initial)" : ""): \(text)") }
        } catch SnapshotError.alreadyExists where expected == nil {
            throw SnapshotError.stale("branch \(branch) was created meanwhile")
        }
        return Snapshot(store: self, commit: try commit(id), refName: branch, writable: true, changes: changes)
    }
}
