import Foundation

extension Snapshot {
    /// The first parent, or nil for a root commit. Keeps the ref name but is read-only only if
    /// this one is: history is read through the same branch.
    public var parent: Snapshot? {
        get throws {
            guard let first = commit.parents.first else { return nil }
            return Snapshot(store: store, commit: try store.commit(first), refName: refName, writable: writable)
        }
    }

    /// `n` first-parent steps back; `notFound` if the history is shorter.
    public func back(_ n: Int = 1) throws -> Snapshot {
        guard n >= 0 else { throw SnapshotError.invalidArgument("back(\(n))") }
        if n == 0 { return self }
        var walk = store.firstParentWalk(from: commitID)
        var target: ObjectID?
        for step in 0..<n {
            guard let parent = try walk.next()?.firstParent else {
                throw SnapshotError.notFound("\(commit.id.shortHex) has only \(step) commit(s) of history")
            }
            target = parent
        }
        return Snapshot(store: store, commit: try store.commit(target!), refName: refName, writable: writable)
    }

    /// First-parent history from this commit back, newest first, as summaries: what `@/log`
    /// and date lookups need, read from the commit-graph where the repository has one.
    public func history() throws -> [CommitSummary] {
        if isUnborn { return [] }
        var out: [CommitSummary] = []
        var walk = store.firstParentWalk(from: commitID)
        while let next = try walk.next() { out.append(next) }
        return out
    }

    /// First-parent history from this commit back, newest first, filtered (all filters must
    /// hold): `path` changed in the commit (against its first parent), the message matches the
    /// glob `match` (`*`, `?`, `[...]`), the commit is not newer than `before`.
    public func log(path: RepoPath? = nil, match: String? = nil, before: Date? = nil) throws -> [Snapshot] {
        let pattern = try match.map { try GlobPattern($0, dotMatchesWildcard: true, slashMatchesWildcard: true) }
        var out: [Snapshot] = []
        var current: Snapshot? = self
        while let snapshot = current {
            let previous = try snapshot.parent
            var keep = true
            if let before, snapshot.time > before { keep = false }
            if keep, let path {
                let mine = try snapshot.entryIfPresent(at: path)
                let theirs = try previous?.entryIfPresent(at: path)
                keep = mine != theirs
            }
            if keep, let pattern { keep = pattern.matches(Array(snapshot.message.utf8)) }
            if keep { out.append(snapshot) }
            current = previous
        }
        return out
    }

    /// Moves the branch `steps` first-parent commits back (vost's `undo`); the reflog line is
    /// `undo: move back`, so `redo` can return.
    public func undo(_ steps: Int = 1) throws -> Snapshot {
        guard steps >= 1 else { throw SnapshotError.invalidArgument("undo(\(steps))") }
        let target = try back(steps)
        return try move(to: target, reflog: "undo: move back")
    }

    /// Moves the branch forward again along its reflog: each step goes to where the branch was
    /// before the newest move that led here (vost's `redo`).
    public func redo(_ steps: Int = 1) throws -> Snapshot {
        guard steps >= 1 else { throw SnapshotError.invalidArgument("redo(\(steps))") }
        guard writable, let branch = refName else { throw SnapshotError.readOnly("redo on \(commitHash)") }
        let log = try store.branches.reflog(branch)
        guard var index = log.firstIndex(where: { $0.new == commitID }) else {
            throw SnapshotError.invalidArgument("cannot redo: \(commit.id.shortHex) is not in the reflog of \(branch)")
        }
        var target = commitID
        for step in 0..<steps {
            guard index < log.count else { throw SnapshotError.invalidArgument("cannot redo \(steps) steps, only \(step)") }
            target = log[index].old
            guard target != .zero else { throw SnapshotError.invalidArgument("cannot redo past the creation of \(branch)") }
            index += 1
        }
        return try move(to: try store.snapshot(of: target), reflog: "redo: move forward")
    }

    /// Points this snapshot's branch at `target` if the branch has not moved.
    private func move(to target: Snapshot, reflog: String) throws -> Snapshot {
        guard writable, let branch = refName else { throw SnapshotError.readOnly("\(commitHash) is not a branch") }
        let ref = "refs/heads/\(branch)"
        try store.updatingRefs { repo in
            guard try repo.resolve(ref: ref) == commitID else { throw SnapshotError.stale("branch \(branch) has moved") }
            try repo.updateRef(ref, to: target.commitID, expected: commitID, message: reflog)
        }
        return Snapshot(store: store, commit: target.commit, refName: branch, writable: true)
    }
}
