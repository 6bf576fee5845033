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
    /// The folder of the temporary file, and the file's name in it.
    private let folder: Int32
    private let temp: String
    private let place: Place

    /// Where the folders are: a path followed as given, or folders beneath a root.
    enum Place {
        case path(String)
        case beneath(root: String)

        /// The folder `relative` (below the path or root), made (0755) where missing.
        func folder(_ relative: String) throws -> Int32 {
            switch self {
            case .beneath(let root):
                return try Beneath.directory(relative, in: root)
            case .path(let base):
                let path = relative.isEmpty ? base : "\(base)/\(relative)"
                var fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                if fd < 0, errno == ENOENT, mkdir(path, 0o755) == 0 || errno == EEXIST {
                    fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                }
                guard fd >= 0 else { throw SnapshotError.posix("cannot open \(path)") }
                return fd
            }
        }
    }

    /// A new temporary file `prefix...` in the folder `directory` of `place` (mode 0600
    /// until stored).
    init(_ place: Place, in directory: String, prefix: String) throws {
        self.place = place
        folder = try place.folder(directory)
        do {
            (fd, temp) = try Syscalls.makeTempFile(in: folder, prefix: prefix)
        } catch {
            close(folder)
            throw error
        }
    }

    /// Gives it `mode` and closes it (both checked: `close` reports a write the filesystem
    /// deferred), and renames it to `name` in the folder `target` of its place, made (0755)
    /// where missing; a folder that `git gc` pruned meanwhile is made again. An object
    /// already there has the same bytes (its name is their hash): renaming over it changes
    /// nothing. On failure the temp file is gone and nothing is named; `what` names the
    /// object in the error.
    func store(as name: String, in target: String, mode: mode_t, what: String) throws {
        defer { close(folder) }
        var code: Int32 = fchmod(fd, mode) != 0 ? errno : 0
        if close(fd) != 0, code == 0 { code = errno }
        for _ in 0..<2 where code == 0 {
            do {
                let destination = try place.folder(target)
                defer { close(destination) }
                if renameat(folder, temp, destination, name) == 0 { return }
                code = errno
            } catch SnapshotError.io(let failed, _) {
                code = failed
            }
            if code != ENOENT { break }
            code = 0  // the folder went away between opening and renaming: once more
        }
        unlinkat(folder, temp, 0)
        throw SnapshotError.posix("cannot store \(what)", errno: code == 0 ? ENOENT : code)
    }

    /// Closes and removes it (the object is not wanted, or writing it failed).
    func discard() {
        close(fd)
        unlinkat(folder, temp, 0)
        close(folder)
    }
}
