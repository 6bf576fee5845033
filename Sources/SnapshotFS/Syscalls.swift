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
}
