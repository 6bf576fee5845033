import Foundation

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

/// The bytes `offset..<end` out of consecutive inflated chunks that cover them. A read that
/// is exactly one chunk (aligned 1 MiB reads) shares it without a copy.
func slice(from offset: Int, to end: Int, in chunks: [(offset: Int, bytes: [UInt8])]) -> [UInt8] {
    if let exact = chunks.first(where: { $0.offset == offset && $0.bytes.count == end - offset }) { return exact.bytes }
    var out: [UInt8] = []
    out.reserveCapacity(end - offset)
    for (chunkOffset, bytes) in chunks where chunkOffset < end && chunkOffset + bytes.count > offset {
        out.append(contentsOf: bytes[(max(offset, chunkOffset) - chunkOffset)..<(min(end, chunkOffset + bytes.count) - chunkOffset)])
    }
    return out
}
