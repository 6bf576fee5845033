import Foundation
import Logging

extension Store {
    /// A ref's lock file this old, met while holding `vost.lock`, that no live process has
    /// open, was left by a process that died while moving the ref. `git` holds one for
    /// milliseconds (seconds when its sync of the file is slow, with the file open); no vost
    /// or vostmount writer holds one without `vost.lock`, which this process holds.
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
        guard age >= staleRefLockAge, !isOpen(path) else { return false }
        guard unlink(path) == 0 || errno == ENOENT else {
            // EIO for the caller (an fsync): the reason is in the message.
            throw SnapshotError.io(errno: EIO, "\(path) was left by a process that died while moving the ref and cannot be "
                                   + "removed (\(String(cString: strerror(errno)))); remove it by hand, with no git or vost running on the repository")
        }
        Logger(label: "vostmount").warning("removed \(path), left \(Int(age)) s ago by a process that died while moving the ref")
        return true
    }

    /// Whether a live process holds the file open: git writes the new value into its lock
    /// file and syncs it with the file open, and a sync can take seconds on a busy disk. A
    /// process that died holds nothing. Asked only of an old lock file, so the walk through
    /// /proc is rare. Each descriptor is read as a link, never followed: following one into a
    /// FUSE mount (this one) would wait on a daemon that is busy committing. A process whose
    /// descriptors cannot be listed (another user's, for a daemon that is not root) is not
    /// seen, as before this check.
    private static func isOpen(_ path: String) -> Bool {
        // The name the kernel shows: the folder's real path, the file's own name.
        let folder = (path as NSString).deletingLastPathComponent
        guard let real = realpath(folder, nil) else { return false }  // no folder: nothing holds it
        let target = String(cString: real) + "/" + (path as NSString).lastPathComponent
        free(real)
        guard let processes = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return false }  // no /proc: as before
        for pid in processes where pid.allSatisfy(\.isNumber) {
            let fds = "/proc/\(pid)/fd"
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: fds) else { continue }  // gone, or not ours to see
            for name in names where (try? FileManager.default.destinationOfSymbolicLink(atPath: "\(fds)/\(name)")) == target {
                return true  // (a link that cannot be read is a descriptor just closed)
            }
        }
        return false
    }
}
