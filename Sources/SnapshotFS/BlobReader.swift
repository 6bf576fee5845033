import Foundation

/// Reads one blob by offset and count without holding it whole in memory when it is large.
///
/// Small blobs (up to `wholeLimit`) are inflated once and sliced. Large ones are read from a
/// libgit2 stream that inflates as it goes: sequential reads cost one pass over the data;
/// a read behind the stream's position restarts it. Packed objects cannot be streamed by
/// libgit2 1.5 and are read whole (a documented limit). One reader is meant for one user at
/// a time; it locks itself, so sharing it is safe but serialises.
public final class BlobReader: @unchecked Sendable {
    // @unchecked: all mutable state is inside `state`.
    public let id: ObjectID
    public let size: Int
    private let store: Store

    private enum Source {
        case whole([UInt8])
        case stream(OdbReadStream, position: Int)
        case unopened
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
        guard offset < end else { return [] }
        return try state.withLock { source in
            if case .unopened = source { source = try open() }
            switch source {
            case .whole(let data):
                return Array(data[offset..<end])
            case .stream(var stream, var position):
                if offset < position {
                    guard let fresh = store.git({ $0.openReadStream(id) }) else { throw SnapshotError.notFound("\(id)") }
                    stream = fresh
                    position = 0
                }
                var skip = offset - position
                var scratch = skip > 0 ? [UInt8](repeating: 0, count: min(skip, 1 << 20)) : []
                while skip > 0 {
                    let n = try scratch.withUnsafeMutableBytes { try stream.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<min(skip, $0.count)])) }
                    guard n > 0 else { throw SnapshotError.io(errno: EIO, "blob \(id) ended early") }
                    skip -= n
                    position += n
                }
                scratch = []
                // Filled straight from the stream: no zeroing, no second copy.
                var failure: Error?
                let out = [UInt8](unsafeUninitializedCapacity: end - offset) { buffer, count in
                    count = 0
                    do {
                        while count < buffer.count {
                            let n = try stream.read(into: UnsafeMutableRawBufferPointer(UnsafeMutableBufferPointer(rebasing: buffer[count...])))
                            guard n > 0 else { throw SnapshotError.io(errno: EIO, "blob \(id) ended early") }
                            count += n
                        }
                    } catch { failure = error }
                }
                position += out.count
                source = .stream(stream, position: position)
                if let failure { throw failure }
                return out
            case .unopened:
                return []
            }
        }
    }

    private func open() throws -> Source {
        if size > Self.wholeLimit, let stream = store.git({ $0.openReadStream(id) }) {
            return .stream(stream, position: 0)
        }
        return .whole(try store.blob(id))
    }
}
