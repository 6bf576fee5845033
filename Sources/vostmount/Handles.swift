import Foundation
import SnapshotFS

/// Open files and directories, by the number the kernel gives back in `fi->fh`.
final class HandleTable: @unchecked Sendable {
    // @unchecked: everything is under `lock`.
    enum Handle {
        case file(BlobReader)
        case directory(node: Node, entries: [(name: [UInt8], node: Node)])
    }
    private let lock = NSLock()
    private var handles: [UInt64: Handle] = [:]
    private var next: UInt64 = 1
    /// The blob each inode showed at its last open: the same blob again means the kernel's
    /// cached pages are still right (`FOPEN_KEEP_CACHE`), another means they must go.
    private var lastBlob: [UInt64: ObjectID] = [:]

    func add(_ handle: Handle) -> UInt64 {
        lock.lock()
        defer { lock.unlock() }
        let id = next
        next += 1
        handles[id] = handle
        return id
    }

    func get(_ id: UInt64) -> Handle? {
        lock.lock()
        defer { lock.unlock() }
        return handles[id]
    }

    func remove(_ id: UInt64) {
        lock.lock()
        defer { lock.unlock() }
        handles.removeValue(forKey: id)
    }

    /// Records `blob` as what `inode` shows now; true if it showed the same before.
    func lastOpened(inode: UInt64, blob: ObjectID) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        let same = lastBlob[inode] == blob
        lastBlob[inode] = blob
        return same
    }
}
