import Foundation

/// Reads one blob by offset and count, with flat memory, inflating it at most once.
///
/// Small blobs (up to `wholeLimit`) are inflated once per reader and sliced. Large ones are
/// read front to back from the reader's own stream while reads move forward, keeping the
/// last few MiB so that reads arriving slightly out of order (as a multi-threaded FUSE loop
/// delivers them) are served from memory: a `cat` costs one inflate and nothing else. A read
/// outside that window switches the reader to the store's `SpoolCache`: the blob inflated
/// into a spool (an unlinked temp file, mode 0600) shared by every reader of that blob, where
/// any offset behind the inflated frontier is a `pread` the page cache serves, and a blob
/// opened again (the same file in `@~1` and at the tip) costs no inflate. Thread-safe.
public final class BlobReader: @unchecked Sendable {
    // @unchecked: the mutable fields are under `lock`.
    /// The blob read.
    public let id: ObjectID
    /// Its size in bytes, from the object header (known before any inflate).
    public let size: Int
    private let store: Store
    private let lock = NSLock()
    private var whole: [UInt8]?
    private var window: ForwardWindow?
    private var useSpool = false
    /// A partial clone's blob was seen here, once (`read`).
    private var checkedLocal = false

    /// Blobs up to this size are read whole: one inflate, then slices.
    public static let wholeLimit = 8 << 20

    /// With `shared`, large blobs go straight to the store's spool, so that every later
    /// reader of the same content, at any offset, finds it inflated: what a filesystem wants,
    /// where a file read once is often read again. Without it, reads moving forward stream
    /// privately and touch no disk: what a program reading a blob once wants.
    ///
    /// With `lfs`, a blob that is an LFS pointer reads as the object it points to, straight
    /// from the local LFS store (stored uncompressed: reads are `pread`s of that file); a
    /// pointer whose object is missing there has the object's size and fails every read with
    /// `EIO`, never showing the pointer's text as if it were the file.
    public init(store: Store, id: ObjectID, shared: Bool = false, lfs: Bool = false) throws {
        self.store = store
        self.id = id
        self.useSpool = shared
        if lfs, let pointer = try store.lfsPointer(id) {
            self.size = pointer.size
            lfsObject = LFSObjectFile(store: store, pointer: pointer)
            store.noteContentRead(id, lfs: pointer)
        } else {
            self.size = try store.blobSize(id)
            lfsObject = nil
            store.noteContentRead(id, lfs: nil)
        }
    }

    private let lfsObject: LFSObjectFile?

    /// The descriptor of the LFS object this reader reads, read-only, when it is one and is
    /// in the local store: for a caller that hands the file itself on. Valid while the
    /// reader lives.
    /// nil also when the object cannot be opened: the caller then reads through `read`, which
    /// fails with the reason.
    public var objectDescriptor: Int32? { try? lfsObject?.descriptor() }

    /// Where a read of up to `count` bytes from `offset` is: bytes, or (for an LFS object,
    /// stored as it is) a range of a file the caller may pass on without reading it.
    public enum Slice {
        case bytes([UInt8])
        /// Valid while this reader lives.
        case file(fd: Int32, offset: Int, count: Int)
    }

    public func slice(at offset: Int, count: Int) throws -> Slice {
        guard let lfsObject else { return .bytes(try read(at: offset, count: count)) }
        let end = min(size, offset + max(0, count))
        guard offset >= 0, offset < end else { return .bytes([]) }
        return .file(fd: try lfsObject.descriptor(), offset: offset, count: end - offset)
    }

    /// Up to `count` bytes from `offset`; fewer (or none) at the end of the blob.
    public func read(at offset: Int, count: Int) throws -> [UInt8] {
        let end = min(size, offset + max(0, count))
        guard offset >= 0, offset < end else { return [] }
        if let lfsObject { return try lfsObject.read(from: offset, to: end) }
        if size > Self.wholeLimit {
            // A partial clone's blob whose size the server told is not here yet (or was
            // dropped from the cache): fetched first, so that it streams, never read whole.
            if store.promised != nil, !lock.withLock({ checkedLocal }) {
                try store.ensureLocal(id)
                lock.withLock { checkedLocal = true }
            }
            if let bytes = try readForward(from: offset, to: end) { return bytes }
            if let spool = try store.spools.spool(for: id, size: size, store: store) {
                do {
                    return try spool.read(from: offset, to: end)
                } catch Spool.Incomplete.incomplete {
                    // It stopped writing its file (see `Spool`): a new one inflates up to
                    // this read and serves it from memory.
                    store.spools.drop(spool)
                    if let fresh = try store.spools.spool(for: id, size: size, store: store) {
                        return try fresh.read(from: offset, to: end)
                    }
                }
            }
        }
        lock.lock()
        defer { lock.unlock() }
        if whole == nil { whole = try store.blob(id) }
        return Array(whole![offset..<end])
    }

    /// The forward path: nil when the read is outside the window (or the blob cannot be
    /// streamed), after which this reader uses the spool for good.
    private func readForward(from offset: Int, to end: Int) throws -> [UInt8]? {
        lock.lock()
        defer { lock.unlock() }
        if useSpool { return nil }
        if window == nil {
            if store.spools.has(id) {
                useSpool = true  // already inflated by another reader: nothing to redo
                return nil
            }
            guard let stream = try LooseStream(id: id, objectsDirectory: store.objectsDirectory) else {
                useSpool = true
                return nil
            }
            window = ForwardWindow(stream: stream)
        }
        guard let bytes = try window!.read(from: offset, to: end) else {
            window = nil
            useSpool = true
            return nil
        }
        return bytes
    }
}
