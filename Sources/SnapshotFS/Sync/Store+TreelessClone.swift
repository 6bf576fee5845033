import Foundation

/// A treeless partial clone (`git clone --filter=tree:0`, what a URL mount makes first):
/// commits only, so that a mount answers in the time the commits take (trees are most of
/// a history's objects). The tip's trees come with the first listing (one request); the
/// history's come after the mount, in one bulk fetch (`git fetch --refetch
/// --filter=blob:none` of every branch and tag), after which the clone is an ordinary
/// blob-less partial clone (`remote.NAME.partialclonefilter` says `blob:none`), as a mount
/// interrupted before the end finds and finishes.
extension Store {
    /// Since when the history's trees are being fetched, and why their last fetch failed
    /// (both nil for a clone that has them, or a complete one).
    public var historyTreesState: (fetchingSince: Date?, failure: String?) {
        switch historyTrees?.state ?? .complete {
        case .complete: return (nil, nil)
        case .fetching(let since): return (since, nil)
        case .failed(let reason): return (nil, reason)
        }
    }

    /// Whether this clone was made without trees and has not fetched them yet.
    public var lacksHistoryTrees: Bool {
        guard let promised else { return false }
        return git { $0.configString("remote.\(promised.remote).partialclonefilter") } == "tree:0"
    }

    /// Fetches the history's trees on a thread of its own, when this clone lacks them; `done`
    /// gets the failure, if any (the mount goes on: history folders fetch their trees alone).
    /// Not before a daemon's fork: its threads would not survive it.
    public func fetchHistoryTrees(done: @escaping @Sendable (String?) -> Void) {
        guard let promised, let historyTrees, lacksHistoryTrees else { return }
        historyTrees.begin()
        Thread.detachNewThread { [self] in
            var failure: String?
            do { try fetchAllTrees(from: promised.remote) } catch { failure = "\(error)" }
            historyTrees.finish(failure: failure)
            done(failure)
        }
    }

    private func fetchAllTrees(from remote: String) throws {
        let git = GitCommand(repository: path)
        let before = promisorPacks()
        let refs = try git.run(["for-each-ref", "--format=%(objectname)", "refs/heads", "refs/tags"], timeout: 600)
        guard refs.status == 0 else { throw SnapshotError.remote("cannot list the refs: \(refs.message)") }
        // Every branch and tag, so that the new pack holds every commit the clone has.
        let wants = Array(Set(refs.stdout.split(separator: "\n").map(String.init))).sorted().prefix(5000)
        if !wants.isEmpty {
            let fetched = try git.run(["fetch", "--refetch", "--filter=blob:none", "--no-tags", "--no-write-fetch-head",
                                       "--no-auto-gc", "--recurse-submodules=no", "--quiet", remote] + wants, timeout: 3600)
            guard fetched.status == 0 else { throw SnapshotError.remote("cannot fetch the history's trees: \(fetched.message)") }
        }
        let configured = try git.run(["config", "remote.\(remote).partialclonefilter", "blob:none"], timeout: 60)
        guard configured.status == 0 else { throw SnapshotError.remote("cannot configure the clone: \(configured.message)") }
        try self.git { try $0.refresh() }
        packs.rescanSoon()
        if removeRedundantPacks(before) {
            try self.git { try $0.reopenObjects() }
            packs.forgetRemoved()
        }
    }

    /// The promisor packs of the clone, by path without suffix; none when the folder cannot
    /// be listed (then none is known redundant, and none is removed).
    private func promisorPacks() -> Set<String> {
        Set((PackFolder.promisorPacks(in: objectsDirectory + "/pack") ?? []).map(\.key))
    }

    /// Removes the packs of `before` (the clone's commits, the tip's trees) whose every object
    /// the new packs hold: the bulk fetch brought them again. A kept pack stays.
    private func removeRedundantPacks(_ before: Set<String>) -> Bool {
        let new = promisorPacks().subtracting(before)
        guard !new.isEmpty, let fetched = PackFolder.objects(of: new) else { return false }
        var removed = false
        for key in before where !FileManager.default.fileExists(atPath: key + ".keep") {
            guard let held = PackFolder.objects(of: [key]), held.isSubset(of: fetched) else { continue }
            PackFolder.remove(key)  // a file left is only space: the object database is reopened either way
            removed = true
        }
        return removed
    }
}
