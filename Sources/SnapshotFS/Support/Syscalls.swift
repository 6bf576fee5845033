import Foundation
import SystemPackage

/// Every read and write of a descriptor, and every call that may be interrupted, in one
/// place: swift-system's `FileDescriptor` retries `EINTR` and finishes short transfers, and
/// each failure here becomes an error naming what was being done. Nothing else in the
/// engine loops on `EINTR` (`Beneath` retries `openat2`'s own `EAGAIN`).
enum Syscalls {
    /// Writes all of `bytes` at `offset` (`pwrite`); `what` names the file in the error.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int, _ what: String) throws {
        try failing("cannot write \(what)") { _ = try FileDescriptor(rawValue: fd).writeAll(toAbsoluteOffset: Int64(offset), bytes) }
    }

    /// Writes all of `bytes` at the descriptor's offset (`write`).
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, _ what: String) throws {
        try failing("cannot write \(what)") { _ = try FileDescriptor(rawValue: fd).writeAll(bytes) }
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], _ what: String) throws {
        try bytes.withUnsafeBytes { try writeAll(fd, $0, what) }
    }

    /// One read into `buffer`, at `offset` (`pread`) or, with nil, at the descriptor's offset
    /// (`read`); returns how many bytes came, 0 at the end of the file.
    static func readOnce(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int? = nil, _ what: String) throws -> Int {
        try failing("cannot read \(what)") {
            let descriptor = FileDescriptor(rawValue: fd)
            if let offset { return try descriptor.read(fromAbsoluteOffset: Int64(offset), into: buffer) }
            return try descriptor.read(into: buffer)
        }
    }

    /// Fills `buffer` from `offset` (`pread`), stopping early only at the end of the file;
    /// returns how many bytes it read.
    static func readUpTo(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int, _ what: String) throws -> Int {
        var done = 0
        while done < buffer.count {
            let n = try readOnce(fd, into: UnsafeMutableRawBufferPointer(rebasing: buffer[done...]), at: offset + done, what)
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Fills all of `buffer` from `offset`; a file that ends first is `EIO`.
    static func readAll(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int, _ what: String) throws {
        guard try readUpTo(fd, into: buffer, at: offset, what) == buffer.count else {
            throw SnapshotError.io(errno: EIO, "\(what) shrank while read")
        }
    }

    /// Exactly `size` bytes from the descriptor's offset; a file that ends first is `EIO`.
    static func readExactly(_ fd: Int32, size: Int, _ what: String) throws -> [UInt8] {
        var data = [UInt8](repeating: 0, count: size)
        var filled = 0
        while filled < size {
            let n = try data.withUnsafeMutableBytes { try readOnce(fd, into: UnsafeMutableRawBufferPointer(rebasing: $0[filled...]), what) }
            guard n > 0 else { throw SnapshotError.io(errno: EIO, "\(what) shrank while read") }
            filled += n
        }
        return data
    }

    /// Everything from the descriptor's offset to the end of the file.
    static func readToEnd(_ fd: Int32, _ what: String) throws -> [UInt8] {
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 << 10)
        while true {
            let n = try chunk.withUnsafeMutableBytes { try readOnce(fd, into: $0, what) }
            if n == 0 { return data }
            data.append(contentsOf: chunk[0..<n])
        }
    }

    /// Calls `body` (a call returning -1 with `errno` on failure) again while it is
    /// interrupted; returns its last result.
    @discardableResult
    static func retryingInterrupts(_ body: () -> Int32) -> Int32 {
        while true {
            let result = body()
            if result != -1 || errno != EINTR { return result }
        }
    }

    /// swift-system's `Errno` as the engine's error, saying what failed.
    private static func failing<R>(_ what: String, _ body: () throws -> R) throws -> R {
        do { return try body() } catch let error as Errno { throw SnapshotError.io(errno: error.rawValue, what) }
    }

    /// A new file named `prefix` and 12 random letters in the folder `directory` (a
    /// descriptor, or `AT_FDCWD` with a path prefix), made exclusively with mode 0600 and
    /// close-on-exec from the first instant: `mkstemp`'s descriptors are not, and every `git`
    /// and `ssh` the sync runs would inherit them (an ssh master then keeps unlinked spools of
    /// GiBs alive). Returns the descriptor and the name as made.
    static func makeTempFile(in directory: Int32 = AT_FDCWD, prefix: String) throws -> (fd: Int32, name: String) {
        let letters = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        for _ in 0..<100 {
            let name = prefix + String((0..<12).map { _ in letters[Int.random(in: 0..<letters.count)] })
            let fd = openat(directory, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            if fd >= 0 { return (fd, name) }
            guard errno == EEXIST || errno == EINTR else { throw SnapshotError.posix("cannot create a file \(prefix)...") }
        }
        throw SnapshotError.posix("cannot create a file \(prefix)...", errno: EEXIST)
    }

    /// The same, unlinked at once: private scratch space that vanishes with its descriptor.
    static func makeAnonymousFile(inPath directory: String, prefix: String) throws -> Int32 {
        let (fd, name) = try makeTempFile(prefix: "\(directory)/\(prefix)")
        unlink(name)
        return fd
    }
}

