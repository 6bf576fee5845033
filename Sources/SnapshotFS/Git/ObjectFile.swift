import Foundation

/// A content-addressed file being written (a loose object, an LFS object): made under a
/// temporary name in the store, and given its final name only once everything written is
/// known to be in it, so a commit never names an object that is not stored. Owns its
/// descriptor until `store` or `discard`.
///
/// Folders are reached through descriptors: beneath the repository with no symlink on the
/// way (`Beneath`) for the LFS store, whose folders a repository's author controls; by path
/// for git's own `objects` folder, which git itself follows (`objects` may be a symlink).
struct ObjectFile {
    let fd: Int32
    private let place: Place
    /// The temporary file's folder (`.beneath`: a descriptor; `.path`: `AT_FDCWD`) and its
    /// name there (`.path`: the whole path).
    private let folder: Int32
    private let temp: String

    /// Where the folders are: a path followed as given, or folders beneath a root.
    enum Place {
        /// git's `objects` folder: by path, as git reaches it, with the five system calls
        /// per object of `LooseObjects` (descriptors would add four to every small commit).
        case path(String)
        /// Folders made and opened beneath `root` with no symlink on the way.
        case beneath(root: String)
    }

    /// A new temporary file `prefix...` in the folder `directory` of `place` (mode 0600
    /// until stored, close-on-exec).
    init(_ place: Place, in directory: String, prefix: String) throws {
        self.place = place
        switch place {
        case .path(let base):
            folder = AT_FDCWD
            (fd, temp) = try Syscalls.makeTempFile(prefix: (directory.isEmpty ? base : "\(base)/\(directory)") + "/" + prefix)
        case .beneath(let root):
            folder = try Beneath.directory(directory, in: root)
            do {
                (fd, temp) = try Syscalls.makeTempFile(in: folder, prefix: prefix)
            } catch {
                close(folder)
                throw error
            }
        }
    }

    /// Gives it `mode` and closes it (both checked: `close` reports a write the filesystem
    /// deferred), and renames it to `name` in the folder `target` of its place, made (0755)
    /// where missing; a folder that `git gc` pruned meanwhile is made again. An object
    /// already there has the same bytes (its name is their hash): renaming over it changes
    /// nothing. On failure the temp file is gone and nothing is named; `what` names the
    /// object in the error.
    ///
    /// `durable`: its data is flushed to the disk first (`fdatasync`), for large objects, so
    /// that the `fsync` that commits them later has little left to flush: it runs while the
    /// kernel holds a directory's lock for `sync DIR` (see `Workspace.storeLargeFile`).
    func store(as name: String, in target: String, mode: mode_t, what: String, durable: Bool = false) throws {
        defer { if folder != AT_FDCWD { close(folder) } }
        var code: Int32 = fchmod(fd, mode) != 0 ? errno : 0
        if code == 0, durable, fdatasync(fd) != 0 { code = errno }
        if close(fd) != 0, code == 0 { code = errno }
        if code == 0 { code = rename(to: name, in: target) }
        if code == 0 { return }
        unlinkat(folder, temp, 0)
        throw SnapshotError.posix("cannot store \(what)", errno: code)
    }

    /// Renames the temp file into `target`, making the folder when the rename says it is
    /// missing (once: `git gc` prunes empty fan-out folders); 0 or the errno.
    private func rename(to name: String, in target: String) -> Int32 {
        switch place {
        case .path(let base):
            let dir = "\(base)/\(target)"
            for attempt in 0..<2 {
                if Glibc.rename(temp, "\(dir)/\(name)") == 0 { return 0 }
                guard errno == ENOENT, attempt == 0, mkdir(dir, 0o755) == 0 || errno == EEXIST else { return errno }
            }
            return ENOENT
        case .beneath(let root):
            for _ in 0..<2 {
                do {
                    let destination = try Beneath.directory(target, in: root)
                    defer { close(destination) }
                    if renameat(folder, temp, destination, name) == 0 { return 0 }
                    if errno != ENOENT { return errno }
                } catch SnapshotError.io(let failed, _) {
                    return failed
                } catch {
                    return EIO
                }
            }
            return ENOENT
        }
    }

    /// Closes and removes it (the object is not wanted, or writing it failed).
    func discard() {
        close(fd)
        unlinkat(folder, temp, 0)
        if folder != AT_FDCWD { close(folder) }
    }
}
