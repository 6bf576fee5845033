import Foundation

/// A file being written in pieces (vost's `fs.writer()`): the bytes go to an unlinked temp
/// file, private to this process, and become a blob, streamed, when `close()` is called.
/// Memory does not grow with the size written.
public final class FileWriter {
    private var fd: Int32
    private var size = 0
    /// Stores the data; returns the new commit when the writer makes one.
    private let finish: (Int32, Int) throws -> Snapshot?
    /// The snapshot the close produced, for writers made from a snapshot (not a batch).
    public internal(set) var snapshot: Snapshot?

    init(directory: String, finish: @escaping (Int32, Int) throws -> Snapshot?) throws {
        fd = try Syscalls.makeAnonymousFile(inPath: directory, prefix: "vost-writer-")
        self.finish = finish
    }

    deinit { if fd >= 0 { Glibc.close(fd) } }

    /// Appends `bytes` to the temp file (nothing is in the repository until `close`).
    public func write(_ bytes: [UInt8]) throws {
        guard fd >= 0 else { throw SnapshotError.invalidArgument("writer is closed") }
        try Syscalls.writeAll(fd, bytes, "temp file")
        size += bytes.count
    }

    /// Appends text as UTF-8.
    public func write(_ text: String) throws { try write(Array(text.utf8)) }

    /// Turns what was written into the file; the writer cannot be used afterwards.
    public func close() throws {
        guard fd >= 0 else { return }
        defer { Glibc.close(fd); fd = -1 }
        guard lseek(fd, 0, SEEK_SET) == 0 else { throw SnapshotError.posix("cannot rewind temp file") }
        snapshot = try finish(fd, size)
    }
}
