import Foundation

/// Every failure the engine reports. One enum, so that a caller (the FUSE bridge above all)
/// can turn any of them into an errno with a single `switch`.
public enum SnapshotError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No such file, directory, ref, note or repository.
    case notFound(String)
    /// A path component that should be a directory is a file.
    case notADirectory(String)
    /// A file operation named a directory.
    case isADirectory(String)
    /// A non-recursive removal named a directory that still has entries.
    case notEmpty(String)
    /// A write through a tag, a detached commit or a read-only store.
    case readOnly(String)
    /// Creating something (a tag, a file with no-replace) that is already there.
    case alreadyExists(String)
    /// The branch moved since the snapshot was taken; re-read it and try again.
    case stale(String)
    /// The node was replaced or removed by another writer's commit that this mount took in
    /// (the kernel may still hold its old inode for a moment): look the name up again.
    case superseded(String)
    /// A path with `..`, an empty segment, NUL, or a `.git` component.
    case invalidPath(String)
    /// A revision string that does not parse or does not name exactly one commit.
    case invalidRevision(String)
    /// An argument outside what the operation accepts (a negative count, say).
    case invalidArgument(String)
    /// Something a Git tree cannot hold (a hard link, a device node, a `.git` name).
    case notPermitted(String)
    /// A system call on the local disk failed (copy in/out, staging); carries its errno.
    case io(errno: Int32, String)
    /// libgit2 failed; carries its error code, class and message.
    case git(code: Int32, klass: Int32, message: String)
    /// A fetch from or push to a remote failed (unreachable, refused, bad credentials...);
    /// carries git's own one-line message.
    case remote(String)

    /// One line, for logs and command-line errors.
    public var description: String {
        switch self {
        case .notFound(let what): return "not found: \(what)"
        case .notADirectory(let what): return "not a directory: \(what)"
        case .isADirectory(let what): return "is a directory: \(what)"
        case .notEmpty(let what): return "directory not empty: \(what)"
        case .readOnly(let what): return "read-only: \(what)"
        case .alreadyExists(let what): return "already exists: \(what)"
        case .stale(let what): return "stale snapshot: \(what)"
        case .superseded(let what): return "replaced by another writer: \(what)"
        case .invalidPath(let what): return "invalid path: \(what)"
        case .invalidRevision(let what): return "invalid revision: \(what)"
        case .invalidArgument(let what): return "invalid argument: \(what)"
        case .notPermitted(let what): return "not permitted: \(what)"
        case .io(let errno, let what): return "\(what): \(String(cString: strerror(errno)))"
        case .git(let code, _, let message): return "git error \(code): \(message)"
        case .remote(let what): return "remote: \(what)"
        }
    }

    /// The error for a failed system call, read from `errno` right after it.
    static func posix(_ what: String, errno code: Int32 = errno) -> SnapshotError {
        .io(errno: code, what)
    }
}
