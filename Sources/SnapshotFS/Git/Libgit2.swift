import CGit2

/// libgit2 is initialised once per process and never shut down: a FUSE daemon lives until
/// exit, and `git_libgit2_shutdown` while another thread still reads would be a crash.
enum Libgit2 {
    static let ready: Void = {
        git_libgit2_init()
        // Trees are what path lookups read again and again; keep them (and commits) cached.
        // Blobs are not cached here: the engine streams big ones and callers cache small ones.
        vost_git_cache_object_limit(GIT_OBJECT_TREE, 4 << 20)
        vost_git_cache_object_limit(GIT_OBJECT_COMMIT, 64 << 10)
        // Small: the engine keeps its own parsed copies (`Store`'s caches); this one serves
        // the raw trees history walks scan without parsing.
        vost_git_cache_max_size(12 << 20)
        // libgit2 re-hashes every object it reads unless told not to; git itself leaves that
        // to `git fsck`. Hashing a 1 GiB blob on each open would cost seconds, and a history
        // walk a third of its time.
        vost_git_enable_strict_hash_verification(0)
    }()
}

/// Runs a libgit2 call and turns a negative return into `SnapshotError.git`, with the
/// message libgit2 left for this thread.
@discardableResult
func check(_ code: Int32, _ context: @autoclosure () -> String = "") throws -> Int32 {
    guard code < 0 else { return code }
    throw gitError(code, context())
}

func gitError(_ code: Int32, _ context: String) -> SnapshotError {
    var message = ""
    var klass: Int32 = 0
    if let last = git_error_last() {
        klass = last.pointee.klass
        if let text = last.pointee.message { message = String(cString: text) }
    }
    if !context.isEmpty { message = message.isEmpty ? context : "\(context): \(message)" }
    if code == GIT_ENOTFOUND.rawValue { return .notFound(message) }
    return .git(code: code, klass: klass, message: message)
}
