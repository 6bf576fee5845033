import Foundation

/// The advisory lock vost and vostmount share: an exclusive `flock` on `<repo>/vost.lock`.
///
/// It is held only around "check the branch has not moved, then move it"; objects are
/// written before it is taken, so holding it costs microseconds. Every acquisition opens its
/// own descriptor: flock locks belong to the open file, so this also excludes other threads
/// of this process, not just other processes.
struct RepoLock {
    let path: String

    init(repositoryPath: String) { path = repositoryPath + "/vost.lock" }

    func withLock<R>(_ body: () throws -> R) throws -> R {
        // Never through a symlink (a repository's author could point it at any file, which
        // root would then open for writing), never blocking in open, a regular file only.
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0o644)
        guard fd >= 0 else { throw SnapshotError.posix("cannot open \(path)") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            throw SnapshotError.io(errno: EIO, "\(path) is not a regular file")
        }
        guard Syscalls.retryingInterrupts({ flock(fd, LOCK_EX) }) == 0 else { throw SnapshotError.posix("cannot lock \(path)") }
        defer { flock(fd, LOCK_UN) }
        return try body()
    }
}
