import Foundation
import SnapshotFS

/// `@/status`: a read-only JSON file, made afresh at every open.
struct StatusNode: MountNode {
    /// Size 0, as /proc files have: the content is made at each open and its length changes,
    /// so a reader that trusted a size would cut it (Foundation's Data(contentsOf:) did); with
    /// 0, readers read to the end (the open asks for direct I/O). A read-only mount gets no
    /// open, so the kernel reads through its cache up to the size given: there, the length now.
    func attributes(id: UInt64, in fs: Filesystem) throws -> stat {
        fs.makeStat(id: id, mode: S_IFREG | 0o444, size: fs.noOpen ? fs.statusJSON().count : 0, nlink: 1, time: Date())
    }

    func fileType(in fs: Filesystem) -> mode_t { S_IFREG }

    /// Read afresh every time.
    var attributeTimeout: Double { 0 }

    func lookup(_ name: [UInt8], in fs: Filesystem) throws -> Node { throw Errno.notDirectory }

    func open(id: UInt64, flags: Int32, in fs: Filesystem) throws -> Filesystem.Opened {
        if Filesystem.isWriting(flags) { throw Errno.readOnly }
        return Filesystem.Opened(handle: fs.handles.add(.bytes(fs.statusJSON())), keepCache: false, directIO: true)
    }

    func read(inode: UInt64, offset: Int, size: Int, in fs: Filesystem) throws -> Filesystem.ReadResult {
        .bytes(Array(fs.statusJSON().dropFirst(offset).prefix(size)))
    }
}

extension Filesystem {
    /// `@/status`: where the mount stands, as one JSON object, made when it is read. The
    /// remote's keys are null without `--remote`; `ahead`/`behind` are counted from the refs
    /// at the read (see `RemoteSync.counts`).
    func statusJSON() -> [UInt8] {
        let tipSnapshot = shownCommit
        let remote = remoteSync?.current
        let counts = remoteSync?.counts()
        let activity = workspace?.activity
        let lfs = lfsDownloads
        let lfsStatus = lfs?.current
        let null = NSNull()
        let object: [String: Any] = [
            "branch": config.branch ?? null,
            "tip": tipSnapshot.flatMap { $0.isUnborn ? nil : $0.commitHash } ?? null,
            "remote": remoteSync?.remote.name ?? null,
            "url": remoteSync?.remote.displayURL ?? null,
            "ahead": counts?.ahead ?? null,
            "behind": counts?.behind ?? null,
            "pending": workspace?.pendingChanges ?? 0,
            // Why a batch has not committed yet: files still open for writing, or not quiet
            // for --commit-delay seconds.
            "openForWriting": activity?.writers ?? 0,
            "quietFor": activity.map { (($0.quietFor * 1000).rounded() / 1000) } ?? null,
            "lastCommit": tipSnapshot.flatMap { $0.isUnborn ? nil : Self.iso($0.time) } ?? null,
            "lastFetch": remote?.lastFetch.map(Self.iso) ?? null,
            "lastPush": remote?.lastPush.map(Self.iso) ?? null,
            "lastFetchedTip": remote?.fetchedTip?.hex ?? null,
            "lastPushedTip": remote?.pushedTip?.hex ?? null,
            // A fetch or push in flight, and since when (null between them).
            "syncingSince": remote?.syncingSince.map(Self.iso) ?? null,
            // The last sync error, or a fetch or push that has had no answer for 5 s.
            "error": remoteSync?.shownError() ?? null,
            "conflicts": syncState.withLock { $0.conflicts },
            // The last surprise from the server (deleted branch, rewritten history), with when.
            "notice": remote?.notice ?? null,
            // LFS objects from the remote (--lfs-fetch): a download running since when, and
            // the last that failed, with when and why (null once one succeeds).
            "lfsFetch": lfs.map { $0.mode.rawValue } ?? null,
            "lfsFetchingSince": lfsStatus?.fetchingSince.map(Self.iso) ?? null,
            "lfsError": lfsStatus?.error ?? null,
            // Whether the kernel may read LFS objects itself (FUSE passthrough; false once
            // refused), and how many open files it reads that way now.
            "passthrough": backingFiles.wanted,
            "passthroughOpens": backingFiles.backedOpens,
            // A partial clone (a URL mount): file contents fetched from its promisor remote
            // since the mount started, in how many fetches, and objects being fetched now;
            // the bytes of fetched contents kept (packs and LFS objects) and their bound
            // (--cache-size), and what was dropped to stay within it.
            "partialClone": store.promisedStatus.map { promised in
                var shown: [String: Any] = ["fetchedObjects": promised.fetchedObjects, "fetches": promised.fetches,
                                            "objectsInFlight": promised.inFlight]
                // A clone made without trees: their bulk fetch after the mount, running
                // since when, or why it failed (both null once they are here).
                let history = store.historyTreesState
                shown["historyTreesFetchingSince"] = history.fetchingSince.map(Self.iso) ?? null
                shown["historyTreesError"] = history.failure ?? null
                if let cache = store.fetchedContentStatus {
                    shown["cacheBytes"] = cache.used
                    shown["cacheLimit"] = cache.limit
                    shown["droppedFromCache"] = cache.droppedItems
                    shown["droppedBytes"] = cache.droppedBytes
                }
                return shown
            } ?? null,
        ]
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]) else {
            return Array("{}\n".utf8)
        }
        return Array(data) + [0x0A]
    }

    static func iso(_ date: Date) -> String { StatusTime.iso(date) }
}

/// Times as `@/status` shows them: ISO 8601, UTC.
enum StatusTime {
    static func iso(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}
