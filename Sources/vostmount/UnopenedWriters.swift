import Foundation
import SnapshotFS

/// Files written without an open the mount saw. A read-write mount answers the kernel's first
/// read-only open with ENOSYS, as a read-only mount does, and the kernel then sends no open
/// and no release for any file again (`FUSE_NO_OPEN_SUPPORT`, one switch for the whole mount):
/// a warm read costs no round trip. Files made by `creat` still come with an open and a
/// release; an existing file opened for writing does not, and its writes (and an `O_TRUNC`,
/// which comes as a truncate) arrive with no handle.
///
/// Such a file counts as open for writing from its first change until it has had none for
/// the commit delay, or until an `fsync`: "quiet" for it means no write for that long (a
/// program that keeps a file open and writes to it again later starts a new batch), where a
/// file the mount saw opened is open until its release.
///
/// Thread-safe: `lock` guards `writers` (a leaf lock: nothing is called while it is held).
final class UnopenedWriters: @unchecked Sendable {
    // @unchecked: `writers` is under `lock`.
    private let lock = NSLock()
    private var writers: [UInt64: (work: WorkNode, lastChange: Double)] = [:]

    /// Notes a change to `inode`; true when it was not counted yet (the caller counts it in).
    func changed(_ inode: UInt64, _ work: WorkNode) -> Bool {
        let now = ProcessInfo.processInfo.systemUptime
        return lock.withLock {
            let new = writers[inode] == nil
            writers[inode] = (work, now)
            return new
        }
    }

    /// Forgets an inode counted in by `changed` whose counting in failed.
    func forget(_ inode: UInt64) { lock.withLock { writers[inode] = nil } }

    /// Takes out, and returns, the files with no change for `quiet` seconds.
    func quiet(for quiet: Double) -> [WorkNode] {
        let now = ProcessInfo.processInfo.systemUptime
        return lock.withLock {
            let done = writers.filter { now - $0.value.lastChange >= quiet }
            for inode in done.keys { writers[inode] = nil }
            return done.values.map(\.work)
        }
    }
}

extension Filesystem {
    /// An open for writing in no-open mode (one that came before the kernel stopped sending
    /// them, or a create): no handle, the file emptied if asked, and counted as written.
    func openWithoutHandle(_ inode: UInt64, _ work: WorkNode, truncating: Bool) throws {
        if truncating { try workspace!.truncate(work, to: 0) }
        try countUnopenedWriter(inode, work)
    }

    /// Counts a file changed without an open as a writer, the first time.
    func countUnopenedWriter(_ inode: UInt64, _ work: WorkNode) throws {
        guard noOpen, unopenedWriters.changed(inode, work) else { return }
        do {
            // As an open for writing would: a node another writer's commit replaced is
            // refused (ESTALE), never written where no commit would see it.
            try workspace!.openedForWriting(work)
        } catch {
            unopenedWriters.forget(inode)
            throw error
        }
        prefill.beginWriting(work)
    }

    /// Counts out the files written without an open that have been quiet for `quiet` seconds:
    /// the commit delay before the poll looks for a quiet batch, 0 at an `fsync`.
    func countOutUnopenedWriters(quietFor quiet: Double) {
        guard noOpen, let workspace else { return }
        var storeNow = false
        for work in unopenedWriters.quiet(for: quiet) {
            prefill.endWriting(work)
            if workspace.closedForWriting(work) { storeNow = true }
        }
        if storeNow { storeClosedFiles(workspace) }
    }
}
