import Foundation

/// An immutable view of one commit's tree: vost's `FS`.
///
/// Reading never changes anything. Writing (see `Snapshot+Write.swift`) returns a new
/// snapshot for the new commit and moves the branch; this one stays as it was. Only
/// snapshots taken from a branch are writable.
public struct Snapshot: Sendable {
    /// The repository this snapshot reads from.
    public let store: Store
    /// The commit shown.
    public let commit: Commit
    /// The branch or tag this snapshot was taken from; nil for a detached commit.
    public let refName: String?
    /// True for branch snapshots: writes commit to `refName`.
    public let writable: Bool
    /// What the operation that made this snapshot changed (nil when it was only read).
    public internal(set) var changes: ChangeReport?

    init(store: Store, commit: Commit, refName: String?, writable: Bool, changes: ChangeReport? = nil) {
        self.store = store
        self.commit = commit
        self.refName = refName
        self.writable = writable
        self.changes = changes
    }

    /// The commit's object name.
    public var commitID: ObjectID { commit.id }

    /// The branch of an empty repository, before its first commit: an empty tree whose
    /// `commitID` is all zeros; its first commit creates the branch.
    public var isUnborn: Bool { commit.id == .zero }

    /// `branch` before it has a commit (see `isUnborn`); `time` is now.
    static func unborn(store: Store, branch: String) -> Snapshot {
        let nobody = Signature(name: store.author, email: store.email, time: Date())
        return Snapshot(store: store, commit: Commit(id: .zero, tree: .emptyTree, parents: [], author: nobody, committer: nobody,
                                                     message: ""), refName: branch, writable: true)
    }
    /// The same, as forty hex digits.
    public var commitHash: String { commit.id.hex }
    /// The root tree's object name.
    public var treeID: ObjectID { commit.tree }
    /// The same, as forty hex digits.
    public var treeHash: String { commit.tree.hex }
    /// The commit message without its trailing newlines.
    public var message: String {
        var text = commit.message
        while text.hasSuffix("\n") { text.removeLast() }
        return text
    }
    /// The commit time (committer's).
    public var time: Date { commit.committer.time }
    /// The commit's author.
    public var authorName: String { commit.author.name }
    /// The author's email.
    public var authorEmail: String { commit.author.email }

    // MARK: Lookup

    /// The entry at `path`; the root is a directory entry named "" for the commit's tree.
    public func entry(at path: RepoPath) throws -> TreeEntry {
        var current = TreeEntry(name: [], mode: .directory, id: commit.tree)
        for (depth, name) in path.components.enumerated() {
            guard current.mode == .directory else {
                throw SnapshotError.notADirectory(RepoPath(validated: Array(path.components[..<depth])).string)
            }
            guard let next = try store.tree(current.id)[name] else { throw SnapshotError.notFound(path.string) }
            current = next
        }
        return current
    }

    /// The entry at `path`, or nil where nothing is (also when a parent is a file).
    public func entryIfPresent(at path: RepoPath) throws -> TreeEntry? {
        do { return try entry(at: path) } catch SnapshotError.notFound, SnapshotError.notADirectory { return nil }
    }

    /// The tree of the directory at `path`.
    public func directory(at path: RepoPath) throws -> Tree {
        let found = try entry(at: path)
        if found.mode == .gitlink { return .empty }
        guard found.mode == .directory else { throw SnapshotError.notADirectory(path.string) }
        return try store.tree(found.id)
    }

    func fileEntry(at path: RepoPath) throws -> TreeEntry {
        let found = try entry(at: path)
        guard !found.mode.isDirectory else { throw SnapshotError.isADirectory(path.string) }
        return found
    }
}

/// What one operation added, updated and deleted, with each path's kind.
public struct ChangeReport: Sendable, Equatable {
    /// One changed path and what it is (after the change; before it, for deletions).
    public struct Item: Sendable, Equatable {
        /// The path changed.
        public let path: RepoPath
        /// Its kind.
        public let mode: FileMode
    }
    /// Paths that did not exist before.
    public var added: [Item] = []
    /// Paths whose content or kind changed.
    public var updated: [Item] = []
    /// Paths that no longer exist.
    public var deleted: [Item] = []

    /// True when nothing changed (no commit is made then).
    public var isEmpty: Bool { added.isEmpty && updated.isEmpty && deleted.isEmpty }
    /// How many paths changed.
    public var count: Int { added.count + updated.count + deleted.count }

    /// vost's automatic message: `+ path`, `~ path`, `- path` for one change (with
    /// ` (executable)` or ` (link)`), else `Batch: +A ~U -D` with the non-zero counts.
    public var message: String {
        if count == 1 {
            if let item = added.first { return "+ \(item.path.string)\(item.mode.messageSuffix)" }
            if let item = updated.first { return "~ \(item.path.string)\(item.mode.messageSuffix)" }
            if let item = deleted.first { return "- \(item.path.string)" }
        }
        var parts: [String] = []
        if !added.isEmpty { parts.append("+\(added.count)") }
        if !updated.isEmpty { parts.append("~\(updated.count)") }
        if !deleted.isEmpty { parts.append("-\(deleted.count)") }
        return parts.isEmpty ? "No changes" : "Batch: " + parts.joined(separator: " ")
    }
}
