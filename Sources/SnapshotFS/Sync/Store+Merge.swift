import Foundation

/// What bringing another line of history into a branch did.
public struct MergeOutcome: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// The branch already contains it.
        case upToDate
        /// The branch only lagged behind: it now points at the other commit.
        case fastForward
        /// Both had moved: a merge commit (first parent the branch's old tip) was made.
        case merged
    }
    public let kind: Kind
    /// The branch's tip afterwards.
    public let tip: ObjectID
    /// Conflict copies the merge made (see `TreeMerge`), empty unless `merged`.
    public let conflicts: [RepoPath]
    /// Text files merged line by line.
    public let lineMerged: [RepoPath]
}

extension Store {
    /// The best common ancestor of two commits; nil when their histories never meet.
    public func mergeBase(_ one: ObjectID, _ two: ObjectID) throws -> ObjectID? {
        try git { try $0.mergeBase(one, two) }
    }

    /// Whether `ancestor` is `commit` or reachable from it.
    public func contains(_ ancestor: ObjectID, in commit: ObjectID) throws -> Bool {
        try ancestor == commit || git { try $0.isDescendant(commit, of: ancestor) }
    }

    /// Commits in `local` missing from `upstream`, and the other way round; with no
    /// `upstream` (nothing fetched yet), every commit of `local`.
    public func aheadBehind(_ local: ObjectID, _ upstream: ObjectID?) throws -> (ahead: Int, behind: Int) {
        guard let upstream else { return (try git { try $0.commitCount(from: local) }, 0) }
        return try git { try $0.aheadBehind(local, upstream) }
    }

    /// A path-level three-way merge of two trees against `base` (see `TreeMerge` for the
    /// rules); `tag` names the commit that holds `theirs`, `oursTag` the one that holds
    /// `ours` (default `tag`), and each displaced version is named after its own.
    public func mergeTrees(base: ObjectID?, ours: ObjectID, theirs: ObjectID, winner: MergeWinner,
                           tag: String, oursTag: String? = nil) throws -> TreeMergeResult {
        try TreeMerge.merge(store: self, base: base, ours: ours, theirs: theirs, winner: winner, tag: tag, oursTag: oursTag)
    }

    /// Brings commit `other` (a fetched remote tip, say) into `branch`, never rewriting
    /// anything: nothing to do if the branch contains it; a fast-forward if the branch is
    /// behind it; otherwise a merge commit whose first parent is the branch's tip (so `~N`
    /// keeps following this line) and second `other`, whose tree is the three-way merge in
    /// which `other`, already published, keeps a path both changed and the branch's version
    /// is kept beside it. `label` names `other` in messages (`origin/main`).
    ///
    /// The merge is computed with no lock held; `vost.lock` covers only the check that the
    /// branch has not moved and the ref update. A branch that moved meanwhile is merged again.
    ///
    /// With `fastForwardOnly` (a read-only mount following a remote), a branch that has
    /// commits `other` lacks is left alone: `invalidArgument` says so.
    public func merge(_ other: ObjectID, into branch: String, label: String, fastForwardOnly: Bool = false) throws -> MergeOutcome {
        let ref = "refs/heads/\(branch)"
        for attempt in 0..<20 {
            if attempt > 0 { usleep(UInt32.random(in: 1_000...20_000)) }
            guard let tip = try git({ try $0.resolve(ref: ref) }) else {
                // An unborn branch simply starts at the other line.
                try updatingRefs { try $0.updateRef(ref, to: other, expected: nil, message: "merge \(label): created") }
                return MergeOutcome(kind: .fastForward, tip: other, conflicts: [], lineMerged: [])
            }
            if try contains(other, in: tip) {
                return MergeOutcome(kind: .upToDate, tip: tip, conflicts: [], lineMerged: [])
            }
            do {
                if try contains(tip, in: other) {
                    try updatingRefs { try $0.updateRef(ref, to: other, expected: tip, message: "merge \(label): Fast-forward") }
                    return MergeOutcome(kind: .fastForward, tip: other, conflicts: [], lineMerged: [])
                }
                if fastForwardOnly {
                    throw SnapshotError.invalidArgument("\(branch) and \(label) have diverged; a read-only mount only fast-forwards")
                }
                let base = try mergeBase(tip, other).map { try commit($0).tree }
                let ours = try commit(tip)
                let result = try mergeTrees(base: base, ours: ours.tree, theirs: commit(other).tree,
                                            winner: .theirs, tag: other.shortHex, oursTag: tip.shortHex)
                // Both tips named, so a shared branch's history says what met what.
                var message = "Merge \(label) (\(other.shortHex)) into \(branch) (\(tip.shortHex))"
                if !result.conflicts.isEmpty {
                    message += "\n\nKept beside the published version:\n" + result.conflicts.map { "  \($0)" }.joined(separator: "\n")
                }
                let id = try writeCommit(tree: result.tree, parents: [tip, other], message: message)
                try updatingRefs { try $0.updateRef(ref, to: id, expected: tip, message: "merge \(label): Merge made by vostmount") }
                return MergeOutcome(kind: .merged, tip: id, conflicts: result.conflicts, lineMerged: result.lineMerged)
            } catch SnapshotError.stale {
                continue
            }
        }
        throw SnapshotError.stale("branch \(branch) kept moving while merging \(label)")
    }
}
