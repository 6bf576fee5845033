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
        } else {
            self.size = try store.blobSize(id)
            lfsObject = nil
        }
    }

    private let lfsObject: LFSObjectFile?

    /// The descriptor of the LFS object this reader reads, read-only, when it is one and is
    /// in the local store: for a caller that hands the file itself on. Valid while the
    /// reader lives.
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

/// The bytes `offset..<end` out of consecutive inflated chunks that cover them. A read that
/// is exactly one chunk (aligned 1 MiB reads) shares it without a copy.
fileprivate func slice(from offset: Int, to end: Int, in chunks: [(offset: Int, bytes: [UInt8])]) -> [UInt8] {
    if let exact = chunks.first(where: { $0.offset == offset && $0.bytes.count == end - offset }) { return exact.bytes }
    var out: [UInt8] = []
    out.reserveCapacity(end - offset)
    for (chunkOffset, bytes) in chunks where chunkOffset < end && chunkOffset + bytes.count > offset {
        out.append(contentsOf: bytes[(max(offset, chunkOffset) - chunkOffset)..<(min(end, chunkOffset + bytes.count) - chunkOffset)])
    }
    return out
}

/// A stream read forward, with its last `keep` bytes in memory, in 1 MiB chunks.
final class ForwardWindow {
    private let stream: BlobStream
    private var chunks: [(offset: Int, bytes: [UInt8])] = []
    private var position = 0
    /// How far back (and ahead) of the stream's position a read may be and still be served.
    static let keep = 8 << 20

    init(stream: BlobStream) { self.stream = stream }

    /// The bytes `offset..<end`, or nil when they are too far behind or ahead.
    func read(from offset: Int, to end: Int) throws -> [UInt8]? {
        let start = chunks.first?.offset ?? position
        guard offset >= start, offset <= position + Self.keep else { return nil }
        while position < end {
            let chunk = try [UInt8](unsafeUninitializedCapacity: 1 << 20) { buffer, count in
                count = try stream.read(into: UnsafeMutableRawBufferPointer(buffer))
            }
            guard !chunk.isEmpty else { throw SnapshotError.io(errno: EIO, "blob ended early") }
            chunks.append((position, chunk))
            position += chunk.count
            while let first = chunks.first, first.offset + first.bytes.count <= position - Self.keep, first.offset + first.bytes.count <= offset {
                chunks.removeFirst()
            }
        }
        return slice(from: offset, to: end, in: chunks)
    }
}

/// A large blob being inflated into an unlinked temp file; `frontier` bytes are inflated.
///
/// A reader at the frontier (a `cat`, a copy) is served from the last few MiB inflated,
/// kept in memory, while the file is written behind it on a queue of its own: the spool
/// costs the sequential reader no disk round trip, yet every byte ends up in the file, where
/// a later reader at any offset (the same blob in `@~1`, a seek back) finds it with a `pread`.
///
/// A slow disk holds the reader back (the queue is bounded) rather than leave the file
/// incomplete: measured, a spool dropped under writeback pressure made a 4 KiB read of the
/// same blob in `@~1` take 100-400 ms instead of 0.2, and the `cat` it spared was not faster.
/// A write that fails (a full disk) stops the file for good; reads at the frontier go on
/// from memory, and one that would need the file throws `Incomplete`, so the caller starts
/// a new spool.
final class Spool: @unchecked Sendable {
    // @unchecked: `stream`, `frontier` and `recent` are under `lock`, `failure` under
    // `failureLock` (the queue takes it while a filler holding `lock` may wait for the queue);
    // the file below what the queue has written never changes, so reads of it take no lock.
    let id: ObjectID
    let size: Int
    private let fd: Int32
    private let lock = NSLock()
    private var stream: BlobStream?
    private var frontier = 0
    /// The newest inflated chunks, oldest first, at most `recentBytes` of them.
    private var recent: [(offset: Int, bytes: [UInt8])] = []
    static let recentBytes = 8 << 20
    /// Writes the inflated chunks into the file, in order. At most `backlogBytes` may wait,
    /// so a slow disk holds the reader back instead of growing memory.
    private let writer = DispatchQueue(label: "vostmount.spool")
    private let backlog = DispatchSemaphore(value: Spool.backlogChunks)
    static let backlogChunks = 16
    /// Set when a write failed: the file stays incomplete.
    private var stopped = false
    private let stoppedLock = NSLock()

    enum Incomplete: Error { case incomplete }

    init(id: ObjectID, size: Int, stream: BlobStream, directory: String) throws {
        self.id = id
        self.size = size
        self.stream = stream
        fd = try Syscalls.makeAnonymousFile(inPath: directory, prefix: "vost-spool-")
    }

    deinit {
        // Every queued write holds the spool, so none is pending when this runs; and this may
        // run on the writer queue itself (its last block dropping the last reference), where
        // waiting for the queue would deadlock: libdispatch traps on it.
        close(fd)
    }

    func read(from offset: Int, to end: Int) throws -> [UInt8] {
        if let bytes = try fillAndServe(from: offset, to: end) { return bytes }
        writer.sync {}  // the bytes are older than memory: wait until they are in the file
        if stoppedLock.withLock({ stopped }) { throw Incomplete.incomplete }
        return try [UInt8](unsafeUninitializedCapacity: end - offset) { buffer, count in
            try Syscalls.readAll(fd, into: UnsafeMutableRawBufferPointer(buffer), at: offset, "the spool of \(id)")
            count = end - offset
        }
    }

    /// Inflates up to `end`; returns the bytes when they are still in memory.
    private func fillAndServe(from offset: Int, to end: Int) throws -> [UInt8]? {
        lock.lock()
        defer { lock.unlock() }
        while frontier < end, let stream {
            let chunk = try [UInt8](unsafeUninitializedCapacity: 1 << 20) { buffer, count in
                count = try stream.read(into: UnsafeMutableRawBufferPointer(buffer))
            }
            guard !chunk.isEmpty else { throw SnapshotError.io(errno: EIO, "blob \(id) ended early") }
            write(chunk, at: frontier)
            recent.append((frontier, chunk))
            frontier += chunk.count
            while let first = recent.first, frontier - (first.offset + first.bytes.count) >= Self.recentBytes {
                recent.removeFirst()
            }
            if frontier >= size { self.stream = nil }  // done: release the file and zlib state
        }
        guard let first = recent.first, offset >= first.offset else { return nil }
        return slice(from: offset, to: end, in: recent)
    }

    /// Queues a chunk for the file (waiting while `backlogChunks` are queued), unless a
    /// write failed already.
    private func write(_ chunk: [UInt8], at offset: Int) {
        guard !stoppedLock.withLock({ stopped }) else { return }
        backlog.wait()
        writer.async { [self] in
            defer { backlog.signal() }
            guard !stoppedLock.withLock({ stopped }) else { return }
            let failed: Int32? = chunk.withUnsafeBytes { bytes in
                var done = 0
                while done < bytes.count {
                    let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
                    if n < 0 && errno == EINTR { continue }
                    guard n > 0 else { return n == 0 ? ENOSPC : errno }
                    done += n
                }
                return nil
            }
            if failed != nil { stoppedLock.withLock { stopped = true } }
        }
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

    func has(_ id: ObjectID) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return spools[id] != nil
    }

    /// Forgets `spool` if it is still the one kept for its blob (readers holding it finish
    /// with it).
    func drop(_ spool: Spool) {
        lock.lock()
        defer { lock.unlock() }
        if let kept = spools[spool.id], kept.spool === spool {
            spools.removeValue(forKey: spool.id)
            total -= spool.size
        }
    }

    /// The spool of `id`, made on first use (loose objects and pack entries are streamed;
    /// deltified ones are rebuilt on disk first); nil when the blob cannot be streamed, in
    /// which case the caller reads it whole.
    func spool(for id: ObjectID, size: Int, store: Store) throws -> Spool? {
        lock.lock()
        clock += 1
        if let hit = spools[id] {
            spools[id]!.used = clock
            lock.unlock()
            return hit.spool
        }
        lock.unlock()
        // Opening may take long (a deltified blob is rebuilt on disk first): not under the
        // lock, which every other reader of a large blob needs.
        let stream: BlobStream
        if let loose = try LooseStream(id: id, objectsDirectory: store.objectsDirectory) {
            stream = loose
        } else if let packed = try PackStream.open(id, store: store) {
            stream = packed
        } else if let packed = store.git({ $0.openReadStream(id) }) {
            stream = packed
        } else {
            return nil
        }
        let spool = try Spool(id: id, size: size, stream: stream, directory: store.scratchDirectory)
        lock.lock()
        defer { lock.unlock() }
        if let raced = spools[id] {
            // Another reader made one meanwhile: theirs serves both.
            spools[id]!.used = clock
            return raced.spool
        }
        while total + size > capacity, let oldest = spools.min(by: { $0.value.used < $1.value.used }) {
            spools.removeValue(forKey: oldest.key)
            total -= oldest.value.spool.size
        }
        spools[id] = (spool, clock)
        total += size
        return spool
    }
}

/// An LFS object opened for reading, or why it cannot be. Owns its descriptor.
final class LFSObjectFile: @unchecked Sendable {
    // @unchecked: immutable after init; `pread` needs no lock.
    private let fd: Int32
    let pointer: LFSPointer
    private let problem: String?

    init(store: Store, pointer: LFSPointer) {
        self.pointer = pointer
        let path = store.lfsPath(pointer)
        var fd: Int32 = -1
        var info = stat()
        do {
            // Beneath the repository, no symlink on the way, a regular file, no blocking open:
            // the store's content is whoever made the repository's.
            fd = try Beneath.openRegularFile("\(store.lfsFolder(pointer))/\(pointer.oid)", in: store.path)
            if fstat(fd, &info) != 0 || Int(info.st_size) != pointer.size {
                problem = "LFS object \(pointer.oid) in \(path) has \(info.st_size) bytes, its pointer says \(pointer.size)"
            } else {
                problem = nil
            }
        } catch SnapshotError.io(let code, let message) {
            switch code {
            case ENOENT: problem = "LFS object \(pointer.oid) is not in the local store (\(path))"
            case ELOOP, EXDEV: problem = "LFS object \(pointer.oid) is reached through a symlink in the store (\(path)): refused"
            default: problem = "LFS object \(pointer.oid): \(message): \(String(cString: strerror(code)))"
            }
        } catch {
            problem = "LFS object \(pointer.oid): \(error)"
        }
        self.fd = problem == nil ? fd : -1
        if problem != nil, fd >= 0 { close(fd) }
    }

    deinit { if fd >= 0 { close(fd) } }

    func descriptor() throws -> Int32 {
        if let problem { throw SnapshotError.io(errno: EIO, problem) }
        return fd
    }

    func read(from offset: Int, to end: Int) throws -> [UInt8] {
        if let problem { throw SnapshotError.io(errno: EIO, problem) }
        var data = [UInt8](repeating: 0, count: end - offset)
        try data.withUnsafeMutableBytes { try Syscalls.readAll(fd, into: $0, at: offset, "LFS object \(pointer.oid)") }
        return data
    }
}
