import Foundation
import SnapshotFS

/// Open files and directories, by the number the kernel gives back in `fi->fh`.
final class HandleTable: @unchecked Sendable {
    // @unchecked: everything is under `lock`.
    enum Handle {
        /// A file in history: one blob.
        case file(BlobReader)
        /// A file of the branch.
        case work(OpenFile)
        case directory(node: Node, entries: [(name: [UInt8], node: Node)])
        /// A file made when it was opened (`@/status`).
        case bytes([UInt8])
    }
    private let lock = NSLock()
    private var handles: [UInt64: Handle] = [:]
    private var next: UInt64 = 1

    /// Without opens, what a handle would hold is kept per inode, for the few files and
    /// directories being read right now (a read or a listing comes in several requests).
    private var readers: [UInt64: BlobReader] = [:]
    private var listings: [UInt64: (version: UInt64, entries: [(name: [UInt8], node: Node)])] = [:]
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

    /// The listing kept for `inode` if it was made at `version` of the directory.
    func listing(inode: UInt64, version: UInt64) -> [(name: [UInt8], node: Node)]? {
        lock.lock()
        defer { lock.unlock() }
        guard let kept = listings[inode], kept.version == version else { return nil }
        return kept.entries
    }

    func keep(listing: [(name: [UInt8], node: Node)], inode: UInt64, version: UInt64) {
        lock.lock()
        defer { lock.unlock() }
        if listings.count >= Self.keptPerInode { listings.removeAll(keepingCapacity: true) }
        listings[inode] = (version, listing)
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

/// An open file of the branch: its node, whether it may write, and the reader of the blob
/// it last read (so a committed file read in many pieces is inflated once).
final class OpenFile: @unchecked Sendable {
    // @unchecked: `cached` is only touched under `lock`.
    let node: WorkNode
    let writable: Bool
    private let lock = NSLock()
    private var cached: BlobReader?

    init(node: WorkNode, writable: Bool) {
        self.node = node
        self.writable = writable
    }

    func reader(for blob: ObjectID, store: Store, lfs: Bool) throws -> BlobReader {
        lock.lock()
        defer { lock.unlock() }
        if let cached, cached.id == blob { return cached }
        let reader = try BlobReader(store: store, id: blob, shared: true, lfs: lfs)
        cached = reader
        return reader
    }
}
