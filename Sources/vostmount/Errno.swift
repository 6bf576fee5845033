import Foundation
import SnapshotFS

/// An errno the mount answers with directly (engine errors are mapped in `Reply.errno`).
struct Errno: Error, Equatable {
    let code: Int32
    static let noEntry = Errno(code: ENOENT)
    static let readOnly = Errno(code: EROFS)
    static let notPermitted = Errno(code: EPERM)
    static let invalid = Errno(code: EINVAL)
    static let crossDevice = Errno(code: EXDEV)
    static let notSupported = Errno(code: ENOTSUP)
    static let noData = Errno(code: ENODATA)
    static let badHandle = Errno(code: EBADF)
    static let io = Errno(code: EIO)
    static let notDirectory = Errno(code: ENOTDIR)
    static let isDirectory = Errno(code: EISDIR)
}

/// The one mapping from any error to the positive errno a FUSE reply carries. Anything
/// unexpected is EIO: one failed request, never a dead mount.
func errnoValue(for error: Error) -> Int32 {
    switch error {
    case let e as Errno: return e.code
    case let e as SnapshotError:
        switch e {
        case .notFound, .invalidRevision: return ENOENT
        case .notADirectory: return ENOTDIR
        case .isADirectory: return EISDIR
        case .notEmpty: return ENOTEMPTY
        case .readOnly: return EROFS
        case .alreadyExists: return EEXIST
        case .stale: return EAGAIN
        // The kernel answers ESTALE from open, truncate, chmod and lookups by looking the
        // name up again (LOOKUP_REVAL), which finds the node that replaced this one.
        case .superseded: return ESTALE
        case .invalidPath: return EINVAL
        case .invalidArgument: return EINVAL
        case .notPermitted: return EPERM
        case .io(let code, _): return code
        case .git, .remote: return EIO
        }
    default: return EIO
    }
}
