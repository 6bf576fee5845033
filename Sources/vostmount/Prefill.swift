import CFuse
import Foundation
import SnapshotFS

/// Puts a small file's content into the kernel's page cache as it is opened for reading
/// (`FUSE_NOTIFY_STORE`), so that reading it sends no `READ`, and so no `GETATTR` either: the
/// kernel marks a file's atime stale after every `READ` it sends to a writable FUSE mount,
/// and the next `fstat` (which `tar`, `cp` and `rsync` all do) then asks the daemon again.
/// Measured with `-d`: three synchronous round trips per small file read without it, one
/// (the `OPEN`) with it.
///
/// A branch file can change, and a push landing after a write would put old bytes back in
/// the kernel's cache. So a push starts only while nobody has the node open for writing or
/// is truncating it, and such a writer waits until the pushes under way are done. The wait
/// holds no lock a `READ` needs: a push can block on a page that a `READ` of the same file is
/// filling, and that `READ` must be able to finish.
final class Prefill: @unchecked Sendable {
    // @unchecked: everything is under `condition`.
    /// Larger files are left to `READ`: a program may want only their first bytes.
    static let limit = 64 << 10
    /// Inodes already pushed are not pushed again: the kernel keeps the pages, this mount's
    /// own writes rewrite them in the kernel first, and pages the kernel evicts fall back to
    /// `READ`. Forgotten when it grows past this.
    static let remembered = 1 << 20
    private let condition = NSCondition()
    private var pushing: [ObjectIdentifier: Int] = [:]
    private var writing: [ObjectIdentifier: Int] = [:]
    private var pushed: Set<UInt64> = []

    /// Stores `bytes()` for inode `id` unless it was stored before or `node` (nil for history,
    /// which never changes) is being written. `bytes` returns nil to skip.
    func store(_ id: UInt64, node: WorkNode?, session: OpaquePointer, _ bytes: () throws -> [UInt8]?) rethrows {
        condition.lock()
        guard !pushed.contains(id), node.map({ writing[ObjectIdentifier($0), default: 0] == 0 }) ?? true else {
            condition.unlock()
            return
        }
        if let node { pushing[ObjectIdentifier(node), default: 0] += 1 }
        condition.unlock()
        defer {
            condition.lock()
            if let node {
                let left = pushing[ObjectIdentifier(node), default: 1] - 1
                pushing[ObjectIdentifier(node)] = left > 0 ? left : nil
            }
            condition.broadcast()
            condition.unlock()
        }
        guard let data = try bytes(), !data.isEmpty else { return }
        let stored = data.withUnsafeBytes { vost_notify_store(session, fuse_ino_t(id), $0.baseAddress, $0.count) } == 0
        guard stored else { return }
        condition.lock()
        if pushed.count >= Self.remembered { pushed.removeAll() }
        pushed.insert(id)
        condition.unlock()
    }

    /// Called before anything that changes `node`'s content without a handle of its own
    /// (an open for writing, a truncate); waits for pushes under way. Pair with `endWriting`.
    func beginWriting(_ node: WorkNode) {
        condition.lock()
        writing[ObjectIdentifier(node), default: 0] += 1
        while pushing[ObjectIdentifier(node), default: 0] > 0 { condition.wait() }
        condition.unlock()
    }

    /// The end of what `beginWriting` began.
    func endWriting(_ node: WorkNode) {
        condition.lock()
        let left = writing[ObjectIdentifier(node), default: 1] - 1
        writing[ObjectIdentifier(node)] = left > 0 ? left : nil
        condition.unlock()
    }
}
