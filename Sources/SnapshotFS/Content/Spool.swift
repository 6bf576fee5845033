import Foundation

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
            do {
                try chunk.withUnsafeBytes { try Syscalls.writeAll(fd, $0, at: offset, "a spool") }
            } catch {
                // A full disk: the spool stops here (see above); readers are not failed by it.
                stoppedLock.withLock { stopped = true }
            }
        }
    }
}
