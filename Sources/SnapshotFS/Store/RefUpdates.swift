import Foundation
import Logging

extension Store {
    /// A ref's lock file this old, met while holding `vost.lock`, was left by a process that
    /// died while moving the ref. `git` holds one for milliseconds; no vost or vostmount
    /// writer holds one without `vost.lock`, which this process holds.
    static let staleRefLockAge: TimeInterval = 3

    /// Runs `body`, which moves refs, under `vost.lock` and the repository's lock.
    ///
    /// A ref's lock file in the way (`refs/heads/main.lock`) is waited for while it is young
    /// (git is moving the ref) and removed once it is `staleRefLockAge` old: a daemon killed
    /// with `kill -9` between creating it and renaming it leaves it behind, and git never
    /// removes such a file, so without this no commit would ever land again. The wait holds
    /// `vost.lock` but not the repository's lock, so readers go on. A lock file that cannot
    /// be removed is an error that names it.
    func updatingRefs<R>(_ body: (GitRepository) throws -> R) throws -> R {
        try lock.withLock {
            let deadline = Date().addingTimeInterval(Self.staleRefLockAge + 2)
            while true {
                do {
                    return try git(body)
                } catch let held as RefLockHeld {
                    if try Self.removeIfStale(held.path) { continue }
                    guard Date() < deadline else {
                        throw SnapshotError.stale("\(held.path) stays locked: a git process keeps moving the ref")
                    }
                    usleep(10_000)
                }
            }
        }
    }

    /// Removes the lock file at `path` if it is `staleRefLockAge` old (or already gone);
    /// false while it is young.
    private static func removeIfStale(_ path: String) throws -> Bool {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            if errno == ENOENT { return true }  // released meanwhile: try again at once
            throw SnapshotError.posix("cannot look at \(path)")
        }
        let age = Date().timeIntervalSince1970 - (TimeInterval(info.st_mtim.tv_sec) + TimeInterval(info.st_mtim.tv_nsec) / 1e9)
        guard age >= staleRefLockAge else { return false }
        guard unlink(path) == 0 || errno == ENOENT else {
            // EIO for the caller (an fsync): the reason is in the message.
            throw SnapshotError.io(errno: EIO, "\(path) was left by a process that died while moving the ref and cannot be "
                                   + "removed (\(String(cString: strerror(errno)))); remove it by hand, with no git or vost running on the repository")
        }
        Logger(label: "vostmount").warning("removed \(path), left \(Int(age)) s ago by a process that died while moving the ref")
        return true
    }
}
