import Foundation

/// Reads one blob by offset and count, with flat memory, inflating it at most once.
///
/// Small blobs (up to `wholeLimit`) are inflated once per reader and sliced. Large ones go
/// through the store's `SpoolCache`: inflated front to back into a spool (an unlinked temp
/// file, mode 0600) shared by every reader of that blob. A read past the inflated frontier
/// inflates up to it; a read behind it is a `pread`, which the page cache serves. So
/// sequential, out-of-order (as a multi-threaded FUSE loop delivers them) and random reads
/// all cost one pass over the blob in total, and a blob opened again (the same file in
/// `@~1` and at the tip) costs no inflate at all. Thread-safe.
public final class BlobReader: @unchecked Sendable {
    // @unchecked: the one mutable field is under `lock`.
    public let id: ObjectID
    public let size: Int
    private let store: Store
    private let lock = NSLock()
    private var whole: [UInt8]?

    /// Blobs up to this size are read whole: one inflate, then slices.
    public static let wholeLimit = 8 << 20

    public init(store: Store, id: ObjectID) throws {
        self.store = store
        self.id = id
        self.size = try store.blobSize(id)
    }

    /// Up to `count` bytes from `offset`; fewer (or none) at the end of the blob.
    public func read(at offset: Int, count: Int) throws -> [UInt8] {
        let end = min(size, offset + max(0, count))
        guard offset >= 0, offset < end else { return [] }
        if size > Self.wholeLimit, let spool = try store.spools.spool(for: id, size: size, store: store) {
            return try spool.read(from: offset, to: end)
        }
        lock.lock()
        defer { lock.unlock() }
        if whole == nil { whole = try store.blob(id) }
        return Array(whole![offset..<end])
    }
}

/// A large blob being inflated into an unlinked temp file; `frontier` bytes are in it.
final class Spool: @unchecked Sendable {
    // @unchecked: `stream` and `frontier` are under `lock`; the file below the frontier
    // never changes, so reads of it take no lock.
    let id: ObjectID
    let size: Int
    private let fd: Int32
    private let lock = NSLock()
    private var stream: BlobStream?
    private var frontier = 0

    init(id: ObjectID, size: Int, stream: BlobStream, directory: String) throws {
        self.id = id
        self.size = size
        self.stream = stream
        var template = Array("\(directory)/vost-spool-XXXXXX".utf8CString)
        fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw SnapshotError.posix("cannot create a spool in \(directory)") }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
    }

    deinit { close(fd) }

    func read(from offset: Int, to end: Int) throws -> [UInt8] {
        try fill(to: end)
        return try [UInt8](unsafeUninitializedCapacity: end - offset) { buffer, count in
            count = 0
            while count < end - offset {
                let n = pread(fd, buffer.baseAddress! + count, end - offset - count, off_t(offset + count))
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw SnapshotError.posix("cannot read the spool of \(id)") }
                count += n
            }
        }
    }

    private func fill(to end: Int) throws {
        lock.lock()
        defer { lock.unlock() }
        guard frontier < end, let stream else { return }
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { chunk.deallocate() }
        while frontier < end {
            let n = try stream.read(into: chunk)
            guard n > 0 else { throw SnapshotError.io(errno: EIO, "blob \(id) ended early") }
            var written = 0
            while written < n {
                let w = pwrite(fd, chunk.baseAddress! + written, n - written, off_t(frontier + written))
                if w < 0 && errno == EINTR { continue }
                guard w > 0 else { throw SnapshotError.posix("cannot write the spool of \(id)") }
                written += w
            }
            frontier += n
        }
        if frontier >= size { self.stream = nil }  // done: release the file and zlib state
    }
}

/// The spools of large blobs, shared by all readers and kept while they fit in `capacity`
/// bytes of scratch disk (least recently used go first; a spool still being read lives on
/// until its last reader is done).
final class SpoolCache: @unchecked Sendable {
    // @unchecked: everything is under `lock`.
    private let lock = NSLock()
    private var spools: [ObjectID: (spool: Spool, used: UInt64)] = [:]
    private var clock: UInt64 = 0
    private var total = 0
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    /// The spool of `id`, made on first use; nil when the blob cannot be streamed (packed),
    /// in which case the caller reads it whole.
    func spool(for id: ObjectID, size: Int, store: Store) throws -> Spool? {
        lock.lock()
        defer { lock.unlock() }
        clock += 1
        if let hit = spools[id] {
            spools[id]!.used = clock
            return hit.spool
        }
        let stream: BlobStream
        if let loose = try LooseStream(id: id, objectsDirectory: store.objectsDirectory) {
            stream = loose
        } else if let packed = store.git({ $0.openReadStream(id) }) {
            stream = packed
        } else {
            return nil
        }
        let spool = try Spool(id: id, size: size, stream: stream, directory: store.scratchDirectory)
        while total + size > capacity, let oldest = spools.min(by: { $0.value.used < $1.value.used }) {
            spools.removeValue(forKey: oldest.key)
            total -= oldest.value.spool.size
        }
        spools[id] = (spool, clock)
        total += size
        return spool
    }
}
