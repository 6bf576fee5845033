import CGit2
import Foundation

/// Owns a libgit2 read stream; reads need no repository lock (the stream has its own file).
final class OdbReadStream: BlobStream {
    private let stream: UnsafeMutablePointer<git_odb_stream>
    let size: Int

    init(stream: UnsafeMutablePointer<git_odb_stream>, size: Int) {
        self.stream = stream
        self.size = size
    }

    deinit { git_odb_stream_free(stream) }

    /// Fills up to `buffer.count` bytes; returns how many, 0 at the end.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = git_odb_stream_read(stream, buffer.baseAddress?.assumingMemoryBound(to: CChar.self), buffer.count)
        try check(n, "cannot read object stream")
        return Int(n)
    }
}
