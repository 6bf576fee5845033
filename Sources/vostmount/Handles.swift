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

    /// Without opens, what a handle would hold is kept per inode, for the few files and
    /// directories being read right now (a read or a listing comes in several requests).
    private var readers: [UInt64: BlobReader] = [:]
    private var listings: [UInt64: [(name: [UInt8], node: Node)]] = [:]
    private static let keptPerInode = 64

    func reader(inode: UInt64) -> BlobReader? {
        lock.lock()
        defer { lock.unlock() }
        return readers[inode]
    }

    func keep(_ reader: BlobReader, inode: UInt64) {
        lock.lock()
        defer { lock.unlock() }
        if readers.count >= Self.keptPerInode { readers.removeAll(keepingCapacity: true) }
        readers[inode] = reader
    }

    func listing(inode: UInt64) -> [(name: [UInt8], node: Node)]? {
        lock.lock()
        defer { lock.unlock() }
        return listings[inode]
    }

    func keep(listing: [(name: [UInt8], node: Node)], inode: UInt64) {
        lock.lock()
        defer { lock.unlock() }
        if listings.count >= Self.keptPerInode { listings.removeAll(keepingCapacity: true) }
        listings[inode] = listing
    }

    /// Drops kept listings: the branch moved and some of them changed.
    func forgetListings() {
        lock.lock()
        defer { lock.unlock() }
        listings.removeAll()
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
