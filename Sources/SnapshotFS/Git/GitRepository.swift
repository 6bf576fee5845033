import CGit2
import Foundation

/// The one owner of a `git_repository` and its `git_odb`, freed in `deinit`.
///
/// Not thread-safe (libgit2's rule for its objects): `Store` keeps exactly one of these behind
/// a lock and every call goes through `Store.git { ... }`. Everything it returns is a Swift
/// value that may then be shared freely.
final class GitRepository {
    let pointer: OpaquePointer
    private var odb: OpaquePointer
    /// The repository directory (`data.git`), with no trailing slash.
    let path: String
    /// Refs whose reflog file is known to exist (see `updateRef`).
    var loggedRefs = Set<String>()

    private init(pointer: OpaquePointer) throws {
        self.pointer = pointer
        var odb: OpaquePointer?
        if git_repository_odb(&odb, pointer) < 0 || odb == nil {
            let error = gitError(-1, "cannot open the object database")
            git_repository_free(pointer)
            throw error
        }
        self.odb = odb!
        var dir = String(cString: git_repository_path(pointer))
        while dir.count > 1 && dir.hasSuffix("/") { dir.removeLast() }
        self.path = dir
    }

    deinit {
        git_odb_free(odb)
        git_repository_free(pointer)
    }

    /// Opens an existing repository at exactly `path` (no search upwards, as a mount must not
    /// silently pick a parent repository).
    static func open(_ path: String) throws -> GitRepository {
        _ = Libgit2.ready
        var repo: OpaquePointer?
        let flags = GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue
        try check(git_repository_open_ext(&repo, path, flags, nil), "cannot open repository \(path)")
        return try GitRepository(pointer: repo!)
    }

    /// Creates a bare repository whose `HEAD` names `refs/heads/<branch>`.
    static func initBare(_ path: String, branch: String) throws -> GitRepository {
        _ = Libgit2.ready
        var options = git_repository_init_options()
        git_repository_init_options_init(&options, UInt32(GIT_REPOSITORY_INIT_OPTIONS_VERSION))
        options.flags = GIT_REPOSITORY_INIT_BARE.rawValue | GIT_REPOSITORY_INIT_MKPATH.rawValue
            | GIT_REPOSITORY_INIT_NO_REINIT.rawValue
        var repo: OpaquePointer?
        try branch.withCString { head in
            options.initial_head = head
            try check(git_repository_init_ext(&repo, path, &options), "cannot create repository \(path)")
        }
        return try GitRepository(pointer: repo!)
    }

    // MARK: Objects

    /// The whole raw content of an object (a tree's or commit's bytes; a blob's data).
    func read(_ id: ObjectID) throws -> (type: git_object_t, data: [UInt8]) {
        var oid = id.git
        var object: OpaquePointer?
        try check(git_odb_read(&object, odb, &oid), "object \(id)")
        defer { git_odb_object_free(object) }
        let size = git_odb_object_size(object)
        let type = git_odb_object_type(object)
        guard size > 0, let data = git_odb_object_data(object) else { return (type, []) }
        return (type, Array(UnsafeRawBufferPointer(start: data, count: size)))
    }

    /// Size and type without inflating the content (only the header, or the delta chain's).
    func header(_ id: ObjectID) throws -> (type: git_object_t, size: Int) {
        var oid = id.git
        var size = 0
        var type = GIT_OBJECT_INVALID
        try check(git_odb_read_header(&size, &type, odb, &oid), "object \(id)")
        return (type, size)
    }

    /// Opens the object database again: libgit2 keeps every pack it opened (a removed one
    /// too, still read through its open descriptor) for as long as the database lives.
    func reopenObjects() throws {
        // Drops the repository's odb, config and refdb, each opened again when next needed
        // (the identity set on it stays); the old odb, and its packs, close with our
        // reference, given up only once the new one is open.
        git_repository__cleanup(pointer)
        var fresh: OpaquePointer?
        try check(git_repository_odb(&fresh, pointer), "cannot open the object database")
        git_odb_free(odb)
        odb = fresh!
    }

    /// Rescans the pack directory, so a pack written by us (or by `git gc`) is seen at once.
    func refresh() throws {
        try check(git_odb_refresh(odb), "cannot refresh the object database")
    }

    func exists(_ id: ObjectID) -> Bool {
        var oid = id.git
        return git_odb_exists(odb, &oid) != 0
    }

    /// Whether the object is already stored, without rescanning the pack directory on a miss
    /// (packs we write ourselves are announced with `refresh`).
    func existsNoRefresh(_ id: ObjectID) -> Bool {
        var oid = id.git
        return git_odb_exists_ext(odb, &oid, GIT_ODB_LOOKUP_NO_REFRESH.rawValue) != 0
    }

    func write(_ data: UnsafeRawBufferPointer, type: git_object_t) throws -> ObjectID {
        var oid = git_oid()
        try check(git_odb_write(&oid, odb, data.baseAddress, data.count, type), "cannot write object")
        return ObjectID(oid)
    }

    /// The one object whose name starts with `hex` (at least 4 digits); ambiguity is an error.
    func expand(prefix hex: String) throws -> ObjectID? {
        var short = git_oid()
        guard git_oid_fromstrn(&short, hex, hex.utf8.count) == 0 else { return nil }
        var full = git_oid()
        let code = git_odb_exists_prefix(&full, odb, &short, hex.utf8.count)
        if code == GIT_ENOTFOUND.rawValue { return nil }
        if code == GIT_EAMBIGUOUS.rawValue { throw SnapshotError.invalidRevision("\(hex) is ambiguous") }
        try check(code, "object \(hex)")
        return ObjectID(full)
    }

    /// A stream that inflates an object as it is read, or nil where the backend holding the
    /// object cannot stream (libgit2 1.5 streams loose objects only, not packed ones).
    func openReadStream(_ id: ObjectID) -> OdbReadStream? {
        var oid = id.git
        var stream: UnsafeMutablePointer<git_odb_stream>?
        var size = 0
        var type = GIT_OBJECT_INVALID
        guard git_odb_open_rstream(&stream, &size, &type, odb, &oid) == 0, let stream else { return nil }
        return OdbReadStream(stream: stream, size: size)
    }

    /// A stream that deflates and hashes into a new loose object; memory stays flat whatever
    /// the size, which must be known in advance.
    func openWriteStream(size: Int, type: git_object_t) throws -> OdbWriteStream {
        var stream: UnsafeMutablePointer<git_odb_stream>?
        try check(git_odb_open_wstream(&stream, odb, git_object_size_t(size), type), "cannot write object")
        return OdbWriteStream(stream: stream!)
    }

    // MARK: Config

    func configString(_ name: String) -> String? {
        var config: OpaquePointer?
        guard git_repository_config_snapshot(&config, pointer) == 0 else { return nil }
        defer { git_config_free(config) }
        var buffer = git_buf()
        defer { git_buf_dispose(&buffer) }
        guard git_config_get_string_buf(&buffer, config, name) == 0, let text = buffer.ptr else { return nil }
        return String(cString: text)
    }

    /// The remotes configured (`git remote`), sorted; none if the list cannot be read.
    func remoteNames() -> [String] {
        var list = git_strarray()
        guard git_remote_list(&list, pointer) == 0 else { return [] }
        defer { git_strarray_dispose(&list) }
        return (0..<list.count).compactMap { list.strings[$0].map { String(cString: $0) } }.sorted()
    }

    func setConfig(_ name: String, bool value: Bool) throws {
        var config: OpaquePointer?
        try check(git_repository_config(&config, pointer), "cannot open config")
        defer { git_config_free(config) }
        try check(git_config_set_bool(config, name, value ? 1 : 0), "cannot set \(name)")
    }
}
