import Foundation

/// One version of a path: the commit that brought it and the entry it had there.
public struct PathVersion: Sendable, Equatable {
    public let snapshot: Snapshot
    public let entry: TreeEntry

    public static func == (a: PathVersion, b: PathVersion) -> Bool {
        a.snapshot.commitID == b.snapshot.commitID && a.entry == b.entry
    }
}

extension Snapshot {
    /// Every distinct version of `path` along first-parent history from this commit back,
    /// newest first: one per commit whose entry at `path` (mode and object) differs from its
    /// first parent's. Commits without the path add nothing, so a deletion and a re-creation
    /// show both versions; a version may be a directory.
    ///
    /// Cost: a commit that did not touch the path's directories costs one tree read at most.
    /// Consecutive commits share most subtrees, so the walk keeps the tree ids along the path
    /// in the newer commit and stops descending where the older commit has the same subtree:
    /// the entry below is then the same.
    public func versions(of path: RepoPath) throws -> [PathVersion] {
        var out: [PathVersion] = []
        var current: Snapshot? = self
        var newer: (snapshot: Snapshot, entry: TreeEntry?, trail: [ObjectID])?
        while let snapshot = current {
            let (entry, trail) = try store.entry(at: path, under: snapshot.treeID, known: newer.map { ($0.trail, $0.entry) })
            if let (later, laterEntry, _) = newer, let laterEntry, laterEntry != entry {
                out.append(PathVersion(snapshot: later, entry: laterEntry))
            }
            newer = (snapshot, entry, trail)
            current = try snapshot.parent
        }
        if let (first, entry, _) = newer, let entry { out.append(PathVersion(snapshot: first, entry: entry)) }
        return out
    }
}

extension Store {
    /// The entry at `path` in the tree `root`, and the ids of the trees walked through (root
    /// first). `known` is the same walk in another tree: where both reach the same subtree,
    /// its answer is reused instead of reading on.
    func entry(at path: RepoPath, under root: ObjectID, known: (trail: [ObjectID], entry: TreeEntry?)?)
        throws -> (TreeEntry?, [ObjectID]) {
        var trail: [ObjectID] = [root]
        var tree = root
        for (depth, name) in path.components.enumerated() {
            if let known, depth < known.trail.count, known.trail[depth] == tree {
                return (known.entry, trail + known.trail[(depth + 1)...])
            }
            guard let entry = try self.tree(tree)[name] else { return (nil, trail) }
            if depth == path.components.count - 1 { return (entry, trail) }
            guard entry.mode == .directory else { return (nil, trail) }
            tree = entry.id
            trail.append(tree)
        }
        return (TreeEntry(name: [], mode: .directory, id: root), trail)
    }
}
