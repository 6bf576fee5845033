import Foundation

/// Whole-buffer reads and writes at an offset, in one place: `EINTR` retried, short
/// transfers continued, every failure an error naming what was being done.
enum Syscalls {
    /// Writes all of `bytes` at `offset` (`pwrite`); `what` names the file in the error.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int, _ what: String) throws {
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw n == 0 ? SnapshotError.io(errno: ENOSPC, "cannot write \(what)") : SnapshotError.posix("cannot write \(what)") }
            done += n
        }
    }

    /// Fills `buffer` from `offset` (`pread`), stopping early only at the end of the file;
    /// returns how many bytes it read.
    static func readUpTo(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int, _ what: String) throws -> Int {
        var done = 0
        while done < buffer.count {
            let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw SnapshotError.posix("cannot read \(what)") }
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

