import Foundation

/// What `@/status` shows of a partial clone's fetched contents (`FetchedContent`).
public struct FetchedContentStatus: Sendable {
    /// Bytes on disk of contents that may be dropped, at the last pass, and their bound.
    public let used: Int
    public let limit: Int
    /// Packs and LFS objects dropped since the mount, and their bytes.
    public let droppedItems: Int
    public let droppedBytes: Int
}

extension Store {
    /// Keeps at most `bytes` of the contents this partial clone fetched (`--cache-size`),
    /// dropping the least recently read first from the next `trimFetchedContent` on (each
    /// fetch is followed by one); nothing for a complete repository.
    public func limitFetchedContent(to bytes: Int) { fetched?.setLimit(bytes) }

    public var fetchedContentStatus: FetchedContentStatus? {
        fetched.map {
            let status = $0.status
            return FetchedContentStatus(used: status.used, limit: status.limit, droppedItems: status.droppedItems,
                                        droppedBytes: status.droppedBytes)
        }
    }

    /// Records an LFS object downloaded from the remote: content that may be dropped later.
    public func noteFetchedLFSObject(_ pointer: LFSPointer) {
        guard let fetched else { return }
        fetched.noteFetched(lfsOID: pointer.oid, path: lfsPath(pointer))
        trimFetchedContent()
    }

    /// Notes that a blob's content is being read (its pack's place in the dropping order).
    func noteContentRead(_ id: ObjectID, lfs pointer: LFSPointer?) {
        guard let fetched else { return }
        if let pointer {
            fetched.noteRead(lfsObject: lfsPath(pointer))
        } else if let (pack, _) = packs.locate(id) {
            fetched.noteRead(pack: pack)
        }
    }

    /// Fetches `id` from the promisor remote unless it is here.
    func ensureLocal(_ id: ObjectID) throws {
        guard promised != nil, !git({ $0.exists(id) }) else { return }
        try fetchPromised([id])
    }

    /// Drops fetched contents past the bound, soon and on another thread (not before a
    /// daemon's fork: its threads would not survive it).
    public func trimFetchedContent() {
        fetched?.trimSoon { [self] in
            // Failing to reopen keeps the old database, which still reads every pack it had.
            do { try git { try $0.reopenObjects() } } catch {}
            packs.forgetRemoved()
        }
    }
}
