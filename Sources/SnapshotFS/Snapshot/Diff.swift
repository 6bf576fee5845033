extension Store {
    /// What changed between two trees, file by file (an empty directory counts as an item of
    /// its own, so `mkdir` shows in a commit message). Equal subtrees are skipped by name.
    public func diff(from old: ObjectID, to new: ObjectID) throws -> ChangeReport {
        var report = ChangeReport()
        try diff(old, new, at: .root, into: &report)
        return report
    }

    private func diff(_ old: ObjectID, _ new: ObjectID, at prefix: RepoPath, into report: inout ChangeReport) throws {
        guard old != new else { return }
        let a = try tree(old).entries
        let b = try tree(new).entries
        var i = 0
        var j = 0
        while i < a.count || j < b.count {
            let left = i < a.count ? a[i] : nil
            let right = j < b.count ? b[j] : nil
            if let l = left, right == nil || l.name.lexicographicallyPrecedes(right!.name) {
                try items(l, at: prefix) { report.deleted.append($0) }
                i += 1
            } else if let r = right, left == nil || r.name.lexicographicallyPrecedes(left!.name) {
                try items(r, at: prefix) { report.added.append($0) }
                j += 1
            } else if let l = left, let r = right {
                let path = prefix.appending(path: RepoPath(validated: [l.name]))
                if l.mode == .directory && r.mode == .directory {
                    try diff(l.id, r.id, at: path, into: &report)
                } else if l.mode == .directory || r.mode == .directory {
                    try items(l, at: prefix) { report.deleted.append($0) }
                    try items(r, at: prefix) { report.added.append($0) }
                } else if l.id != r.id || l.mode != r.mode {
                    report.updated.append(.init(path: path, mode: r.mode))
                }
                i += 1
                j += 1
            }
        }
    }

    /// The files under an entry (itself if it is one); an empty directory is one item.
    private func items(_ entry: TreeEntry, at prefix: RepoPath, _ emit: (ChangeReport.Item) -> Void) throws {
        let path = prefix.appending(path: RepoPath(validated: [entry.name]))
        guard entry.mode == .directory else { return emit(.init(path: path, mode: entry.mode)) }
        let children = try tree(entry.id).entries
        if children.isEmpty { return emit(.init(path: path, mode: .directory)) }
        for child in children { try items(child, at: path, emit) }
    }
}
