import CGit2
import Foundation

/// Files and folders inside the repository, reached the way content from a stranger must
/// be: beneath the repository's directory, through no symlink at any step (a symlinked
/// `lfs/objects/aa` or object would otherwise serve `/etc/shadow`, or store objects outside
/// the repository), never blocking in `open` (a FIFO in the store), and close-on-exec.
///
/// `relative` is a path the engine made (`lfs/objects/aa/bb/<oid>`), never one read from
/// a repository. `root` itself is the repository's path as the user gave it, and is followed.
public enum Beneath {
    /// Opens `relative` below `root` with `flags` (plus `O_CLOEXEC | O_NOCTTY | O_NOFOLLOW`).
    /// A symlink anywhere on the way is `ELOOP`; a path leaving `root`, `EXDEV`.
    public static func open(_ relative: String, in root: String, flags: Int32, mode: mode_t = 0) throws -> Int32 {
        let rootFD = try openRoot(root)
        defer { close(rootFD) }
        return try open(relative, at: rootFD, flags: flags, mode: mode, what: "\(root)/\(relative)")
    }

    /// Opens a regular file below `root` to read it, without blocking: anything else (a
    /// FIFO, a device, a directory) is an error naming it.
    static func openRegularFile(_ relative: String, in root: String) throws -> Int32 {
        let fd = try open(relative, in: root, flags: O_RDONLY | O_NONBLOCK)
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            throw SnapshotError.io(errno: EIO, "\(root)/\(relative) is not a regular file")
        }
        return fd
    }

    /// The folder `relative` below `root`, each missing component made (`0755`), opened
    /// (`O_DIRECTORY`) with no symlink on the way: the place to create files with `openat`
    /// and to `renameat` them into.
    static func directory(_ relative: String, in root: String) throws -> Int32 {
        var fd = try openRoot(root)
        for component in relative.split(separator: "/") {
            let name = String(component)
            if mkdirat(fd, name, 0o755) != 0, errno != EEXIST {
                let code = errno
                close(fd)
                throw SnapshotError.posix("cannot create \(root)/\(relative)", errno: code)
            }
            let next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            let code = errno
            close(fd)
            guard next >= 0 else { throw SnapshotError.posix("cannot open \(root)/\(relative) (a symlink there is refused)", errno: code) }
            fd = next
        }
        return fd
    }

    /// Renames `name` to `newName` in `root` itself (no folder between), if `name` is a
    /// regular file; false if it is anything else.
    public static func rotate(_ name: String, to newName: String, in root: String) throws -> Bool {
        let rootFD = try openRoot(root)
        defer { close(rootFD) }
        var info = stat()
        guard fstatat(rootFD, name, &info, AT_SYMLINK_NOFOLLOW) == 0, info.st_mode & S_IFMT == S_IFREG else { return false }
        guard renameat(rootFD, name, rootFD, newName) == 0 else { throw SnapshotError.posix("cannot rename \(root)/\(name)") }
        return true
    }

    private static func openRoot(_ root: String) throws -> Int32 {
        let fd = Glibc.open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw SnapshotError.posix("cannot open \(root)") }
        return fd
    }

    private static func open(_ relative: String, at rootFD: Int32, flags: Int32, mode: mode_t, what: String) throws -> Int32 {
        let all = flags | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW
        while true {
            let fd = vost_openat2(rootFD, relative, all, UInt32(mode), vost_resolve_beneath_no_symlinks())
            if fd >= 0 { return fd }
            if errno == EINTR || errno == EAGAIN { continue }
            if errno != ENOSYS { throw SnapshotError.posix("cannot open \(what)") }
            return try walk(relative, at: rootFD, flags: all, mode: mode, what: what)
        }
    }

    /// Kernels before 5.6 have no openat2: one component at a time, none followed.
    private static func walk(_ relative: String, at rootFD: Int32, flags: Int32, mode: mode_t, what: String) throws -> Int32 {
        let parts = relative.split(separator: "/").map(String.init)
        guard let last = parts.last, !parts.contains("..") else { throw SnapshotError.io(errno: EXDEV, "cannot open \(what)") }
        var dir = fcntl(rootFD, F_DUPFD_CLOEXEC, 0)
        for part in parts.dropLast() {
            let next = openat(dir, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            let code = errno
            close(dir)
            guard next >= 0 else { throw SnapshotError.posix("cannot open \(what)", errno: code) }
            dir = next
        }
        defer { close(dir) }
        let fd = openat(dir, last, flags, mode)
        guard fd >= 0 else { throw SnapshotError.posix("cannot open \(what)") }
        return fd
    }
}
