/// A mutable tree on top of a committed one: the pending state of a batch.
///
/// Only the directories on the way to a change are opened (copied into a dictionary);
/// everything else stays a reference to the committed tree, so a change to one file in a
/// 100,000-file tree touches a handful of directories. Writing it back serialises exactly
/// the opened directories, bottom-up. Not thread-safe: its owner (a `Batch`) guards it.
final class TreeDraft {
    /// A directory that has been opened for change.
    final class Directory {
        var entries: [[UInt8]: Node]
        init(entries: [[UInt8]: Node]) { self.entries = entries }
    }

    enum Node {
        case entry(TreeEntry)
        case directory(Directory)
    }

    let store: Store
    let base: ObjectID
    private(set) var root: Directory

    init(store: Store, base: ObjectID) throws {
        self.store = store
        self.base = base
        root = try Self.open(store: store, tree: base)
    }

    private static func open(store: Store, tree id: ObjectID) throws -> Directory {
        var entries: [[UInt8]: Node] = [:]
        for entry in try store.tree(id).entries { entries[entry.name] = .entry(entry) }
        return Directory(entries: entries)
    }

    // MARK: Reading the pending state

    /// What `path` is now: a blob-like entry, or a directory (opened or not); nil if absent.
    func node(at path: RepoPath) throws -> Node? {
        var current = Node.directory(root)
        for name in path.components {
            switch current {
            case .directory(let dir):
                guard let next = dir.entries[name] else { return nil }
                current = next
            case .entry(let entry) where entry.mode == .directory:
                guard let next = try store.tree(entry.id)[name] else { return nil }
                current = .entry(next)
            case .entry:
                throw SnapshotError.notADirectory(path.string)
            }
        }
        return current
    }

    /// The entries of the directory at `path` as they are now, sorted by name.
    func entries(at path: RepoPath) throws -> [(name: [UInt8], node: Node)] {
        switch try node(at: path) {
        case .directory(let dir)?:
            return dir.entries.map { ($0.key, $0.value) }.sorted { $0.name.lexicographicallyPrecedes($1.name) }
        case .entry(let entry)? where entry.mode == .directory:
            return try store.tree(entry.id).entries.map { ($0.name, .entry($0)) }
        case .entry?: throw SnapshotError.notADirectory(path.string)
        case nil: throw SnapshotError.notFound(path.string)
        }
    }

    // MARK: Changing it

    /// Opens every directory down to `path`'s parent and returns it. With `create`, missing
    /// directories are made (and, as in vost, a file standing in the way is replaced).
    func parentDirectory(of path: RepoPath, create: Bool) throws -> Directory? {
        var dir = root
        for (depth, name) in path.components.dropLast().enumerated() {
            switch dir.entries[name] {
            case .directory(let sub)?:
                dir = sub
            case .entry(let entry)? where entry.mode == .directory:
                let sub = try Self.open(store: store, tree: entry.id)
                dir.entries[name] = .directory(sub)
                dir = sub
            case .entry?, nil:
                guard create else {
                    if dir.entries[name] == nil { return nil }
                    throw SnapshotError.notADirectory(RepoPath(validated: Array(path.components[...depth])).string)
                }
                let sub = Directory(entries: [:])
                dir.entries[name] = .directory(sub)
                dir = sub
            }
        }
        return dir
    }

    /// Puts `entry` (a blob or a tree, named by object) at `path`.
    func set(_ path: RepoPath, mode: FileMode, id: ObjectID) throws {
        guard !path.isRoot else { throw SnapshotError.isADirectory("/") }
        let dir = try parentDirectory(of: path, create: true)!
        dir.entries[path.name] = .entry(TreeEntry(name: path.name, mode: mode, id: id))
    }

    /// Removes whatever is at `path`; returns false if nothing was there. With `prune`, the
    /// directories left empty above it go too (vost's rule; a mount keeps them, as POSIX does).
    @discardableResult
    func remove(_ path: RepoPath, prune: Bool) throws -> Bool {
        guard !path.isRoot else { throw SnapshotError.invalidPath("cannot remove the root") }
        guard let dir = try parentDirectory(of: path, create: false), dir.entries.removeValue(forKey: path.name) != nil else {
            return false
        }
        if prune, dir.entries.isEmpty, path.components.count > 1 {
            try remove(path.parent, prune: true)
        }
        return true
    }

    /// Takes the node at `path` out (for a move); nil if absent.
    func take(_ path: RepoPath) throws -> Node? {
        guard !path.isRoot, let dir = try parentDirectory(of: path, create: false) else { return nil }
        return dir.entries.removeValue(forKey: path.name)
    }

    /// Puts a node taken by `take` at `path`, renaming its entry.
    func put(_ node: Node, at path: RepoPath) throws {
        let dir = try parentDirectory(of: path, create: true)!
        switch node {
        case .directory: dir.entries[path.name] = node
        case .entry(let entry): dir.entries[path.name] = .entry(TreeEntry(name: path.name, mode: entry.mode, id: entry.id))
        }
    }

    // MARK: Writing it back

    /// Serialises the opened directories bottom-up and returns the new root tree. Opened
    /// directories that did not change produce the same object name and cost one hash.
    func writeTree(into sink: ObjectSink) throws -> ObjectID {
        try write(root, sink)
    }

    private func write(_ dir: Directory, _ sink: ObjectSink) throws -> ObjectID {
        var entries: [TreeEntry] = []
        entries.reserveCapacity(dir.entries.count)
        for (name, node) in dir.entries {
            switch node {
            case .entry(let entry): entries.append(entry)
            case .directory(let sub): entries.append(TreeEntry(name: name, mode: .directory, id: try write(sub, sink)))
            }
        }
        let id = try sink.add(.tree, Tree.serialize(entries))
        store.trees.put(id, Tree(entries: entries))
        return id
    }
}
