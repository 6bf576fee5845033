import CGit2
import Foundation

/// Owns a libgit2 write stream; `finish` writes the object, dropping it unfinished writes none.
final class OdbWriteStream {
    private let stream: UnsafeMutablePointer<git_odb_stream>

    init(stream: UnsafeMutablePointer<git_odb_stream>) { self.stream = stream }
    deinit { git_odb_stream_free(stream) }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0 else { return }
        try check(git_odb_stream_write(stream, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count),
                  "cannot write object stream")
    }

    func finish() throws -> ObjectID {
        var oid = git_oid()
        try check(git_odb_stream_finalize_write(&oid, stream), "cannot finish object")
        return ObjectID(oid)
    }
}
