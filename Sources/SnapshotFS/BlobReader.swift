import Foundation

/// Reads one blob by offset and count, inflating it at most once, with flat memory.
///
/// Small blobs (up to `wholeLimit`) are inflated once and sliced. Large ones are inflated
/// from a libgit2 stream, front to back, into a spool: an unlinked temp file, mode 0600, in
/// the store's scratch directory. A read past the inflated frontier inflates up to it; a read
/// behind it is a `pread` of the spool, which the page cache serves. So sequential, slightly
/// out-of-order (as a multi-threaded FUSE loop delivers them) and random reads all cost one
/// pass over the blob in total, never one per read. Packed blobs cannot be streamed by
/// libgit2 1.5 and are read whole (a documented limit). Thread-safe.
public final class BlobReader: @unchecked Sendable {
    // @unchecked: all mutable state is inside `state`.
    public let id: ObjectID
    public let size: Int
    private let store: Store

    private enum Source {
        case unopened
        case whole([UInt8])
        case spool(Spool)
    }

    /// A stream being inflated into a temp file; `frontier` bytes are in the file.
    private final class Spool {
        let stream: OdbReadStream
        let fd: Int32
        var frontier = 0

        init(stream: OdbReadStream, fd: Int32) {
            self.stream = stream
            self.fd = fd
        }

        deinit { close(fd) }
    }

    private let state: Locked<Source>

    /// Blobs up to this size are read whole: one inflate, then slices.
    public static let wholeLimit = 8 << 20

    public init(store: Store, id: ObjectID) throws {
        self.store = store
        self.id = id
        self.size = try store.blobSize(id)
        state = Locked(.unopened)
    }

    /// Up to `count` bytes from `offset`; fewer (or none) at the end of the blob.
    public func read(at offset: Int, count: Int) throws -> [UInt8] {
        let end = min(size, offset + max(0, count))
        guard offset >= 0, offset < end else { return [] }
        let found: Found = try state.withLock { source in
            if case .unopened = source { source = try open() }
            switch source {
            case .whole(let data): return .bytes(Array(data[offset..<end]))
            case .spool(let spool):
                try fill(spool, to: end)
                return .spool(spool)
            case .unopened: return .bytes([])
            }
        }
        guard case .spool(let spool) = found else {
            if case .bytes(let bytes) = found { return bytes }
            return []
        }
        // The spool up to `end` is written and never changes: read it without the lock.
        return try [UInt8](unsafeUninitializedCapacity: end - offset) { buffer, count in
            count = 0
            while count < end - offset {
                let n = pread(spool.fd, buffer.baseAddress! + count, end - offset - count, off_t(offset + count))
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw SnapshotError.posix("cannot read the spool of \(id)") }
                count += n
            }
        }
    }

    private enum Found {
        case bytes([UInt8])
        case spool(Spool)
    }

    private func open() throws -> Source {
        if size > Self.wholeLimit, let stream = store.git({ $0.openReadStream(id) }) {
            var template = Array("\(store.scratchDirectory)/vost-spool-XXXXXX".utf8CString)
            let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
            guard fd >= 0 else { throw SnapshotError.posix("cannot create a spool in \(store.scratchDirectory)") }
            template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
            return .spool(Spool(stream: stream, fd: fd))
        }
        return .whole(try store.blob(id))
    }

    private func fill(_ spool: Spool, to end: Int) throws {
        guard spool.frontier < end else { return }
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while spool.frontier < end {
            let n = try chunk.withUnsafeMutableBytes { try spool.stream.read(into: $0) }
            guard n > 0 else { throw SnapshotError.io(errno: EIO, "blob \(id) ended early") }
            var written = 0
            while written < n {
                let w = chunk.withUnsafeBytes { pwrite(spool.fd, $0.baseAddress! + written, n - written, off_t(spool.frontier + written)) }
                if w < 0 && errno == EINTR { continue }
                guard w > 0 else { throw SnapshotError.posix("cannot write the spool of \(id)") }
                written += w
            }
            spool.frontier += n
        }
    }
}
