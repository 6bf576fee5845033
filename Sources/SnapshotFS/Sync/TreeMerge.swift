import Foundation

/// Which side of a three-way merge keeps a path that both sides changed in ways that do not
/// merge; the other side's version is kept beside it under a conflict name.
public enum MergeWinner: Sendable {
    case ours, theirs
}

/// What a three-way merge of trees made.
public struct TreeMergeResult: Sendable, Equatable {
    /// The merged root tree.
    public let tree: ObjectID
    /// Conflict copies it made: the displaced versions, kept beside the path that won.
    public let conflicts: [RepoPath]
    /// Text files both sides changed, merged line by line.
    public let lineMerged: [RepoPath]
}

/// A path-level three-way merge of trees, in which no version disappears from the tree.
///
/// Per path, against the merge base: changed on one side only, that side; changed the same
/// way on both, that; a text file changed on both in different places, merged line by line
/// when that is clean; changed on one side and deleted on the other, the changed one stays;
/// otherwise the winner keeps the path and the other version is kept beside it as
/// `<stem>.conflict-<tag><.ext>`, where `tag` names the commit the displaced version comes
/// from (the extension stays last, so programs still open it). A file and a directory on one
/// path: the directory keeps it and the file moves to a conflict name. Modes merge like
/// content: the side that changed it wins, the winner where both did.
///
/// Subtrees equal on two sides are taken whole by object name, so the cost follows the size
/// of the changes, not of the tree. Not thread-safe (it owns its sink); one merge per value.
struct TreeMerge {
    let store: Store
    let sink: ObjectSink
    let winner: MergeWinner
    /// Seven hex digits of the commit that holds `theirs`, and of the one that holds `ours`
    /// (the same when ours is not a commit yet): a displaced version is named after its own.
    let tag: String
    let oursTag: String
    private(set) var conflicts: [RepoPath] = []
    private(set) var lineMerged: [RepoPath] = []

    init(store: Store, winner: MergeWinner, tag: String, oursTag: String) {
        self.store = store
        self.sink = ObjectSink(store: store)
        self.winner = winner
        self.tag = tag
        self.oursTag = oursTag
    }

    /// Merges the trees and writes every new object; nil `base` means the histories share
    /// nothing (every path both sides have was added on both).
    static func merge(store: Store, base: ObjectID?, ours: ObjectID, theirs: ObjectID,
                      winner: MergeWinner, tag: String, oursTag: String? = nil) throws -> TreeMergeResult {
        var merge = TreeMerge(store: store, winner: winner, tag: tag, oursTag: oursTag ?? tag)
        let tree = try merge.trees(base: base, ours: ours, theirs: theirs, at: .root)
        try merge.sink.flush()
        return TreeMergeResult(tree: tree, conflicts: merge.conflicts, lineMerged: merge.lineMerged)
    }

    private mutating func trees(base: ObjectID?, ours: ObjectID, theirs: ObjectID, at path: RepoPath) throws -> ObjectID {
        if ours == theirs || base == theirs { return ours }
        if base == ours { return theirs }
        let b = try base.map { try store.tree($0) } ?? .empty
        let o = try store.tree(ours)
        let t = try store.tree(theirs)
        var names = Set<[UInt8]>()
        for tree in [b, o, t] { for entry in tree.entries { names.insert(entry.name) } }
        var merged: [[UInt8]: TreeEntry] = [:]
        var displaced: [(entry: TreeEntry, tag: String)] = []
        // Sorted, so conflict names come out the same on every machine.
        for name in names.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            let (kept, aside) = try entry(b[name], o[name], t[name], at: path.appending(path: RepoPath(validated: [name])))
            if let kept { merged[name] = kept }
            if let aside { displaced.append((aside, aside == o[name] ? oursTag : tag)) }
        }
        for (entry, tag) in displaced {
            let name = conflictName(entry.name, tag: tag, taken: merged)
            merged[name] = TreeEntry(name: name, mode: entry.mode, id: entry.id)
            conflicts.append(path.appending(path: RepoPath(validated: [name])))
        }
        let list = Array(merged.values)
        let id = try sink.add(.tree, Tree.serialize(list))
        store.trees.put(id, Tree(entries: list))
        return id
    }

    /// What one name becomes: the entry that keeps it, and a displaced one to keep beside it.
    private mutating func entry(_ b: TreeEntry?, _ o: TreeEntry?, _ t: TreeEntry?,
                                at path: RepoPath) throws -> (kept: TreeEntry?, aside: TreeEntry?) {
        if o == t || b == t { return (o, nil) }
        if b == o { return (t, nil) }
        // Both sides changed it, differently. A deletion loses to a change.
        guard let o else { return (t, nil) }
        guard let t else { return (o, nil) }
        switch (o.mode == .directory, t.mode == .directory) {
        case (true, true):
            let base = b?.mode == .directory ? b?.id : nil
            return (TreeEntry(name: o.name, mode: .directory, id: try trees(base: base, ours: o.id, theirs: t.id, at: path)), nil)
        case (true, false): return (o, t)
        case (false, true): return (t, o)
        case (false, false): break
        }
        let mode = mergedMode(base: b?.mode, ours: o.mode, theirs: t.mode)
        if let content = try mergedContent(b, o, t, mode: mode, at: path) {
            return (TreeEntry(name: o.name, mode: mode, id: content), nil)
        }
        return winner == .ours ? (o, t) : (t, o)
    }

    private func mergedMode(base: FileMode?, ours: FileMode, theirs: FileMode) -> FileMode {
        if ours == theirs || base == theirs { return ours }
        if base == ours { return theirs }
        return winner == .ours ? ours : theirs
    }

    /// The content both sides agree on, or their clean line merge; nil for a conflict.
    private mutating func mergedContent(_ b: TreeEntry?, _ o: TreeEntry, _ t: TreeEntry,
                                        mode: FileMode, at path: RepoPath) throws -> ObjectID? {
        if o.id == t.id { return o.id }
        let base = b.flatMap { $0.mode.isDirectory ? nil : $0 }
        if base?.id == o.id, o.mode.isFile == t.mode.isFile { return t.id }
        if base?.id == t.id, o.mode.isFile == t.mode.isFile { return o.id }
        // Only regular files merge line by line; links and submodules conflict.
        guard o.mode.isFile, t.mode.isFile, mode.isFile, base.map({ $0.mode.isFile }) ?? true else { return nil }
        let sizes = try [o.id, t.id].map { try store.blobSize($0) } + [try base.map { try store.blobSize($0.id) } ?? 0]
        guard sizes.allSatisfy({ $0 <= LineMerge.maxSize }) else { return nil }
        let text = try LineMerge.merge(base: base.map { try store.blob($0.id) } ?? [],
                                       ours: store.blob(o.id), theirs: store.blob(t.id))
        guard let text else { return nil }
        lineMerged.append(path)
        return try sink.add(.blob, text)
    }

    /// `report.txt` -> `report.conflict-1a2b3c4.txt`; `Makefile` -> `Makefile.conflict-1a2b3c4`;
    /// a leading dot is not an extension. `-2`, `-3`... if the name is taken.
    private func conflictName(_ name: [UInt8], tag: String, taken: [[UInt8]: TreeEntry]) -> [UInt8] {
        var stem = name
        var ext: [UInt8] = []
        if let dot = name.lastIndex(of: UInt8(ascii: ".")), dot > 0, dot < name.count - 1 {
            stem = Array(name[..<dot])
            ext = Array(name[dot...])
        }
        // Room for the suffix within the 255 bytes a Linux name may have.
        let suffix = Array(".conflict-\(tag)".utf8)
        let room = 255 - suffix.count - ext.count - 4
        if stem.count > room { stem = Array(stem.prefix(max(1, room))) }
        var candidate = stem + suffix + ext
        var n = 2
        while taken[candidate] != nil {
            candidate = stem + suffix + Array("-\(n)".utf8) + ext
            n += 1
        }
        return candidate
    }
}
