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
}
