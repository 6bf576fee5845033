import CFuse
import Foundation
import Logging
import SnapshotFS

extension Filesystem {
    /// Starts what runs beside the request loop (after the daemon's fork).
    func start() {
        workspace?.onInvalidate = { [weak self] items in self?.forward(items) }
        workspace?.onConflicts = { [weak self] paths in self?.conflictsMade(paths) }
        remoteSync?.onBranchMoved = { [weak self] in
            guard let self else { return }
            do { try workspace?.refresh() } catch { logger.error("cannot read the branch: \(error)") }
        }
        remoteSync?.onConflicts = { [weak self] paths in self?.conflictsMade(paths) }
        remoteSync?.onFetched = { [weak self] tip in self?.lfsDownloads?.tipFetched(tip) }
        poller.onTick = { [weak self] in self?.tick() }
        poller.start()
        remoteSync?.start()
        // A partial clone mounted with a smaller --cache-size than last time.
        store.trimFetchedContent()
        // A URL's clone made without trees: the history's come now, behind the mount.
        store.fetchHistoryTrees { [logger] failure in
            if let failure { logger.error("the history's trees: \(failure); history folders fetch theirs one by one") }
            else { logger.info("the history's trees are here") }
        }
    }

    /// A merge into the branch kept versions beside the one that won: shown in `@/status`
    /// and logged.
    func conflictsMade(_ paths: [RepoPath]) {
        syncState.withLock { $0.conflicts = paths.map(\.string) }
        logger.warning("both sides changed; kept beside: \(paths.map(\.string).joined(separator: ", "))")
    }

    /// Every poll: commit a quiet batch, take in other writers' commits, refresh the index
    /// folders' listings.
    func tick() {
        if let workspace {
            countOutUnopenedWriters(quietFor: config.commitDelay)
            let activity = workspace.activity
            if activity.pending, activity.writers == 0, activity.quietFor >= config.commitDelay {
                commitPending(reason: "quiet")
            }
            do { try workspace.refresh() } catch { logger.error("cannot read the branch: \(error)") }
            // Every new tip (a commit here, or another writer's) is pushed.
            if let remoteSync {
                let tip = workspace.base.commitID
                let moved = syncState.withLock { state in
                    defer { state.seenTip = tip }
                    return state.seenTip != nil && state.seenTip != tip
                }
                if moved { remoteSync.nudge() }
            }
        }
        invalidateIndexFolders()
    }

    /// Commits the batch; a failure is logged and the batch stays pending for the next try.
    func commitPending(reason: String) {
        guard let workspace else { return }
        do {
            if let snapshot = try workspace.commit() {
                committedHere()
                logger.info("committed \(snapshot.commitID.shortHex) (\(reason)): \(snapshot.message)")
            }
        } catch {
            logger.error("commit failed (\(reason)): \(error)")
        }
    }

    /// After a commit of this mount: the push goes at once, not at the next poll (nothing here
    /// waits for the network), and the folders that list history (`@/log`, `@/gmt`, versions
    /// folders) are dropped from the kernel's cache now, so `ls MNT/@/versions/F` right after
    /// `fsync` shows the new version. Told on the invalidation queue, as every notification.
    func committedHere() {
        remoteSync?.nudge()
        invalidations.async { [self] in invalidateIndexFolders() }
    }

    /// Stops the poller and commits what is pending; called once the loop has ended, before
    /// the session is destroyed.
    func stop() {
        poller.stop()
        commitAtUnmount()
        try? store.syncToDisk()
        lfsDownloads?.stop()
        if let remoteSync, let warning = remoteSync.stop(pushWithin: config.pushTimeout) {
            logger.warning("\(warning)")
        }
        // Nothing may use the session once it is destroyed: no new notification starts, and
        // those queued (by the last commit, or a merge) are waited for.
        session = nil
        invalidations.sync {}
    }

    /// The last commit. A batch it cannot commit is kept in the repository and committed at
    /// the next mount (see `Workspace.keepPending`); either way the log says so, since
    /// `fusermount3 -u` has already returned and nobody else would know.
    func commitAtUnmount() {
        guard let workspace, !config.readOnly else { return }
        do {
            if let snapshot = try workspace.commit() {
                logger.info("committed \(snapshot.commitID.shortHex) (unmount): \(snapshot.message)")
            }
        } catch {
            do {
                if let ref = try workspace.keepPending(reason: "\(error)") {
                    logger.error("the commit at unmount failed: \(error); the batch is kept as \(ref) and will be committed at the next mount of \(workspace.branch)")
                }
            } catch let keeping {
                logger.critical("the commit at unmount failed: \(error); the batch could not be kept either (\(keeping)), and is lost")
            }
        }
    }

    /// Batches that an earlier mount could not commit at its unmount, committed before the
    /// branch is shown.
    static func takeInKeptBatches(store: Store, branch: String, logger: Logger) {
        do {
            for (ref, commit) in try store.takeInKeptBatches(branch: branch) {
                logger.warning("committed the batch an earlier unmount kept as \(ref): \(commit.map { "commit \($0.shortHex)" } ?? "the branch had it already")")
            }
        } catch {
            logger.error("cannot commit the batches an earlier unmount kept (under \(Workspace.keptPrefix)\(branch)/): \(error)")
        }
    }

    /// Tells the kernel to forget names and nodes that another writer's commit changed. It
    /// runs on its own queue: a notification sent from a request thread can wait on a kernel
    /// lock that the request's caller holds.
    func forward(_ items: [Workspace.Invalidation]) {
        invalidations.async { [self] in
            guard let session else { return }
            for item in items {
                switch item {
                case .entry(let parent, let name):
                    guard let id = inodes.existingID(Node(BranchNode(parent))) else { continue }
                    _ = name.withUnsafeBufferPointer { raw in
                        raw.withMemoryRebound(to: CChar.self) { fuse_lowlevel_notify_inval_entry(session, fuse_ino_t(id), $0.baseAddress, name.count) }
                    }
                case .node(let node):
                    guard let id = inodes.existingID(Node(BranchNode(node))) else { continue }
                    fuse_lowlevel_notify_inval_inode(session, fuse_ino_t(id), 0, 0)
                }
            }
            logger.debug("branch moved: told the kernel of \(items.count) changes")
        }
    }

    /// The index folders list refs that move without the branch moving (a new tag): their
    /// cached listings and attributes are dropped on every poll, if the kernel has them. The
    /// versions folders change only with the tip: dropped when it moved.
    func invalidateIndexFolders() {
        guard let session else { return }
        for node in IndexFolder.refreshedEachPoll {
            if let id = inodes.existingID(node) { fuse_lowlevel_notify_inval_inode(session, fuse_ino_t(id), 0, 0) }
        }
        // With no opens the kernel keeps every file's pages, `@/status`'s too: they are
        // dropped at every poll, so a read is at most a quarter of a second old.
        if noOpen, let id = inodes.existingID(Node(StatusNode())) { fuse_lowlevel_notify_inval_inode(session, fuse_ino_t(id), 0, 0) }
        let tip = shownCommit?.commitID
        let moved = versionsTip.withLock { seen in
            defer { seen = tip }
            return seen != tip
        }
        guard moved else { return }
        for id in inodes.existingIDs(where: { $0.as(VersionsFolder.self) != nil }) {
            fuse_lowlevel_notify_inval_inode(session, fuse_ino_t(id), 0, 0)
        }
    }
}
