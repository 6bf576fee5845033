import Foundation

/// A batch that could not be committed when the mount ended (the ref could not be moved, the
/// branch kept moving...) is not lost with the process: its tree and a commit on its base are
/// written, and a ref under `refs/vostmount/pending/<branch>/` keeps them (git gc keeps what
/// a ref names; `git clone` copies only branches and tags). The next mount of the branch
/// merges each kept batch onto the tip as a commit of its own, as it would have landed, and
/// deletes the ref. A full disk, where nothing can be written, is the one case where this too
/// fails: the caller says so in the log.
extension Workspace {
    public static let keptPrefix = "refs/vostmount/pending/"

    /// Writes the pending batch as a commit on `base` (not on the branch) and names it with a
    /// ref of its own; returns the ref, nil when nothing was pending. `reason` goes into the
    /// commit's message.
    public func keepPending(reason: String) throws -> String? {
        try storePendingFiles()
        return try locked {
            guard root.committedID == nil else { return nil }
            let sink = ObjectSink(store: store)
            var undo: [(WorkNode, WorkNode.Content, ObjectID?)] = []
            let tree = try writeTree(root, at: .root, rules: try rootRules(), sink, undo: &undo)
            try sink.flush()
            let id = try store.writeCommit(tree: tree, parents: _base.isUnborn ? [] : [_base.commitID],
                                           message: "Batch that vostmount could not commit at unmount\n\n\(reason)")
            let ref = "\(Self.keptPrefix)\(branch)/\(Int(Date().timeIntervalSince1970))-\(getpid())"
            try store.updatingRefs { try $0.updateRef(ref, to: id, expected: nil, message: "vostmount: kept at unmount") }
            return ref
        }
    }
}

extension Store {
    /// Commits onto `branch` every batch an earlier mount kept (`Workspace.keepPending`),
    /// oldest first, each merged path by path onto the tip as a batch is (its changes win a
    /// path both changed; the other version is kept beside it), and deletes its ref. Returns
    /// the refs taken in and the commit each became (nil when the tip already had it all).
    public func takeInKeptBatches(branch: String) throws -> [(ref: String, commit: ObjectID?)] {
        let prefix = Workspace.keptPrefix + branch + "/"
        let refs = try git { try $0.refNames(under: prefix) }.filter { !$0.dropFirst(prefix.count).contains("/") }
        var taken: [(String, ObjectID?)] = []
        for ref in refs {
            guard let id = try git({ try $0.resolve(ref: ref) }) else { continue }
            let kept = try commit(id)
            let base = try kept.parents.first.map { try commit($0).tree }
            var made: ObjectID?
            var landed = false
            for attempt in 0..<50 where !landed {
                if attempt > 0 { usleep(UInt32.random(in: 1_000...20_000)) }
                let tip = try branches.tipOrUnborn(branch)
                let merged = try mergeTrees(base: base, ours: kept.tree, theirs: tip.treeID, winner: .ours, tag: tip.commitID.shortHex)
                if merged.tree == tip.treeID {
                    landed = true  // the tip has it all already
                    break
                }
                do {
                    made = try commit(onto: tip, tree: merged.tree, changes: try diff(from: tip.treeID, to: merged.tree), message: nil).commitID
                    landed = true
                } catch SnapshotError.stale {
                    continue
                }
            }
            // The ref goes only once its batch is on the branch.
            guard landed else { throw SnapshotError.stale("branch \(branch) kept moving while taking in \(ref)") }
            try updatingRefs { try $0.deleteRef(ref) }
            taken.append((ref, made))
        }
        return taken
    }
}
