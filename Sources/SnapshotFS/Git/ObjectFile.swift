import Foundation

/// A content-addressed file being written (a loose object, an LFS object): made under a
/// temporary name in the store, and given its final name only once everything written is
/// known to be in it, so a commit never names an object that is not stored. Owns its
/// descriptor until `store` or `discard`.
struct ObjectFile {
    let fd: Int32
    let temp: String

    /// A new temporary file `prefixXXXXXX` in `directory` (mode 0600 until stored).
    init(in directory: String, prefix: String) throws {
        var template = Array("\(directory)/\(prefix)XXXXXX".utf8CString)
        fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw SnapshotError.posix("cannot create an object in \(directory)") }
        temp = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    /// Gives it `mode` and closes it (both checked: `close` reports a write the filesystem
    /// deferred), makes `folders` (0755, outermost first, skipped when `foldersExist`), and
    /// renames it to `target`. A folder that went away meanwhile (`git gc` prunes empty
    /// fan-out folders) is made again once. On failure the temp file is gone and nothing is
    /// named; `what` names the object in the error.
    func store(as target: String, mode: mode_t, folders: [String], foldersExist: Bool = false, what: String) throws {
        var code: Int32 = fchmod(fd, mode) != 0 ? errno : 0
        if close(fd) != 0, code == 0 { code = errno }
        if code == 0, !foldersExist { code = Self.make(folders) }
        if code == 0 {
            if rename(temp, target) == 0 { return }
            code = errno
            if code == ENOENT {
                code = Self.make(folders)
                if code == 0 { code = rename(temp, target) == 0 ? 0 : errno }
                if code == 0 { return }
            }
        }
        unlink(temp)
        throw SnapshotError.posix("cannot store \(what)", errno: code)
    }

    /// Closes and removes it (the object is not wanted, or writing it failed).
    func discard() {
        close(fd)
        unlink(temp)
    }

    private static func make(_ folders: [String]) -> Int32 {
        for folder in folders where mkdir(folder, 0o755) != 0 && errno != EEXIST { return errno }
        return 0
    }
}
