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
    /// The tree each branch directory inode was listed from last: the same tree again means
    /// the kernel's cached listing is still right.
    private var listedTree: [UInt64: ObjectID] = [:]

    func sameListing(inode: UInt64, tree: ObjectID) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        let same = listedTree[inode] == tree
        listedTree[inode] = tree
        return same
    }

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
}
