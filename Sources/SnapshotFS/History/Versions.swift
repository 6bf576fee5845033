import CGit2
import Foundation

/// One version of a path: the commit that brought it and the entry it had there.
public struct PathVersion: Sendable, Equatable {
    public let commitID: ObjectID
    /// The commit's time (committer's).
    public let time: Date
    public let entry: TreeEntry
    let store: Store

    /// The commit that brought this version.
    public var snapshot: Snapshot { get throws { try store.snapshot(of: commitID) } }

    public static func == (a: PathVersion, b: PathVersion) -> Bool { a.commitID == b.commitID && a.entry == b.entry }
}

extension Snapshot {
    /// Every distinct version of `path` along first-parent history from this commit back,
    /// newest first: one per commit whose entry at `path` (mode and object) differs from its
    /// first parent's. Commits without the path add nothing, so a deletion and a re-creation
    /// show both versions; a version may be a directory. These are the commits
    /// `git log --first-parent -- PATH` lists, less those that delete the path.
    ///
    /// Cost, per commit of the history: where the commit-graph holds the commit, nothing is
    /// inflated (its tree and parent come from the graph), and a commit whose changed-path
    /// Bloom filter says the path did not change costs a few hashes. Elsewhere the walk reads
    /// the two root trees and stops descending where both reach the same subtree (the entry
    /// below is then the same), so a commit that did not touch the path's folders costs one
    /// tree read at most.
    public func versions(of path: RepoPath) throws -> [PathVersion] {
        if isUnborn { return [] }
        var out: [PathVersion] = []
        let keys = BloomKeys(path)
        var walk = store.firstParentWalk(from: commitID)
        guard var current = try walk.next() else { return [] }
        var known = try store.entry(at: path, under: current.tree, known: nil)
        while true {
            guard let parent = try walk.next() else {
                if let entry = known.entry { out.append(PathVersion(commitID: current.id, time: current.time, entry: entry, store: store)) }
                return out
            }
            if walk.mayHaveChanged(current, keys) {
                let older = try store.entry(at: path, under: parent.tree, known: known)
                if let entry = known.entry, entry != older.entry {
                    out.append(PathVersion(commitID: current.id, time: current.time, entry: entry, store: store))
                }
                known = older
            }
            current = parent
        }
    }
}

extension Store {
    /// The entry `name` of the tree `id`: from the parsed tree if it is cached, else found in
    /// the raw tree without parsing or caching it (a history walk looks up one name in
    /// thousands of trees it will not show; parsing and caching each was most of its cost).
    func entry(named name: [UInt8], inTree id: ObjectID) throws -> TreeEntry? {
        if id == .emptyTree { return nil }
        if let hit = trees.get(id) { return hit[name] }
        let (type, data) = try present(id, walking: true) { try smallObject(id) }
        guard type == GIT_OBJECT_TREE else { throw SnapshotError.notADirectory("\(id) is not a tree") }
        return try Tree.find(name, in: data, id: id)
    }

    /// The entry at `path` in the tree `root`, and the ids of the trees walked through (root
    /// first). `known` is the same walk in another tree: where both reach the same subtree,
    /// its answer is reused instead of reading on.
    func entry(at path: RepoPath, under root: ObjectID, known: (entry: TreeEntry?, trail: [ObjectID])?)
        throws -> (entry: TreeEntry?, trail: [ObjectID]) {
        var trail: [ObjectID] = [root]
        var tree = root
        for (depth, name) in path.components.enumerated() {
            if let known, depth < known.trail.count, known.trail[depth] == tree {
                return (known.entry, trail + known.trail[(depth + 1)...])
            }
            guard let entry = try self.entry(named: name, inTree: tree) else { return (nil, trail) }
            if depth == path.components.count - 1 { return (entry, trail) }
            guard entry.mode == .directory else { return (nil, trail) }
            tree = entry.id
            trail.append(tree)
        }
        return (TreeEntry(name: [], mode: .directory, id: root), trail)
    }
}
