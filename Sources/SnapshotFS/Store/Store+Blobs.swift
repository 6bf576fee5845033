import CGit2
import Foundation

extension Store {
    /// Size of the chunks streamed from disk into a blob: large enough for throughput, small
    /// enough that memory does not grow with the file.
    static let streamChunk = 1 << 20

    /// Writes the contents of an open file (from its current offset to the end, `size` bytes)
    /// as a blob, streamed through libgit2: memory stays flat whatever the size.
    ///
    /// libgit2 is locked only to open and finish the stream; the chunks are deflated without
    /// the lock, so readers of other objects are not held up by a large write.
    ///
    /// With `offset`, the file is read from there with `pread`, leaving the descriptor's own
    /// offset alone (so that two readers of one descriptor cannot disturb each other).
    public func writeBlob(fromDescriptor fd: Int32, size: Int, at offset: Int? = nil) throws -> ObjectID {
        if size <= Self.streamChunk, offset == nil { return try writeBlob(try Self.readAll(fd, size: size)) }
        let start = offset ?? Int(lseek(fd, 0, SEEK_CUR))
        if start >= 0, size > Self.streamChunk {
            // Our own one-pass writer, with the zlib level chosen by the data (see there);
            // no repository lock is held while it runs. (libgit2's stream below remains for
            // descriptors that cannot seek.)
            let id = try LooseObjects.writeBlob(fromDescriptor: fd, size: size, start: start, objectsDirectory: objectsDirectory) { id in
                git { $0.existsNoRefresh(id) }
            }
            sizes.put(id, size)
            return id
        }
        let stream = try git { try $0.openWriteStream(size: size, type: GIT_OBJECT_BLOB) }
        var buffer = [UInt8](repeating: 0, count: Self.streamChunk)
        var remaining = size
        while remaining > 0 {
            let n = try buffer.withUnsafeMutableBytes { raw in
                try Syscalls.readOnce(fd, into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<min(remaining, raw.count)]),
                                      at: offset.map { $0 + size - remaining }, "the file")
            }
            guard n > 0 else { throw SnapshotError.io(errno: EIO, "file shrank while read") }
            try buffer.withUnsafeBytes { try stream.write(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            remaining -= n
        }
        let id = try git { _ in try stream.finish() }
        sizes.put(id, size)
        return id
    }

    /// Writes a file on disk as a blob, streamed (see `writeBlob(fromDescriptor:size:)`).
    public func writeBlob(fromFile path: String) throws -> ObjectID {
        try Self.withOpenFile(path) { fd, size in try writeBlob(fromDescriptor: fd, size: size, at: 0) }
    }

    /// Opens a regular file for reading and passes its descriptor and size.
    static func withOpenFile<R>(_ path: String, _ body: (Int32, Int) throws -> R) throws -> R {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw errno == ENOENT ? SnapshotError.notFound(path) : SnapshotError.posix("cannot open \(path)") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw SnapshotError.posix("cannot stat \(path)") }
        if info.st_mode & S_IFMT == S_IFDIR { throw SnapshotError.isADirectory(path) }
        return try body(fd, Int(info.st_size))
    }

    /// Reads exactly `size` bytes from the current offset of `fd`.
    static func readAll(_ fd: Int32, size: Int) throws -> [UInt8] {
        try Syscalls.readExactly(fd, size: size, "the file")
    }
}
