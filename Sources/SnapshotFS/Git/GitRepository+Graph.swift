import CGit2

extension GitRepository {
    /// The best common ancestor of two commits, nil when their histories never meet.
    func mergeBase(_ one: ObjectID, _ two: ObjectID) throws -> ObjectID? {
        var out = git_oid()
        var a = one.git
        var b = two.git
        let code = git_merge_base(&out, pointer, &a, &b)
        if code == GIT_ENOTFOUND.rawValue { return nil }
        try check(code, "cannot find the merge base of \(one.shortHex) and \(two.shortHex)")
        return ObjectID(out)
    }

    /// Whether `ancestor` is reachable from `commit` (a commit is not its own descendant).
    func isDescendant(_ commit: ObjectID, of ancestor: ObjectID) throws -> Bool {
        var a = commit.git
        var b = ancestor.git
        let code = git_graph_descendant_of(pointer, &a, &b)
        try check(code, "cannot compare \(commit.shortHex) with \(ancestor.shortHex)")
        return code == 1
    }

    /// Commits reachable from `local` but not `upstream`, and the other way round.
    func aheadBehind(_ local: ObjectID, _ upstream: ObjectID) throws -> (ahead: Int, behind: Int) {
        var ahead = 0
        var behind = 0
        var a = local.git
        var b = upstream.git
        try check(git_graph_ahead_behind(&ahead, &behind, pointer, &a, &b), "cannot count commits")
        return (ahead, behind)
    }

    /// How many commits `tip` reaches (itself included).
    func commitCount(from tip: ObjectID) throws -> Int {
        var walk: OpaquePointer?
        try check(git_revwalk_new(&walk, pointer), "cannot walk history")
        defer { git_revwalk_free(walk) }
        var start = tip.git
        try check(git_revwalk_push(walk, &start), "cannot walk from \(tip.shortHex)")
        var count = 0
        var next = git_oid()
        while git_revwalk_next(&next, walk) == 0 { count += 1 }
        return count
    }
}

