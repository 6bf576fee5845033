import CGit2
import Foundation

extension GitRepository {
    /// The commit (or tag object) a ref points at, following symbolic refs; nil if absent.
    func resolve(ref name: String) throws -> ObjectID? {
        var oid = git_oid()
        let code = git_reference_name_to_id(&oid, pointer, name)
        if code == GIT_ENOTFOUND.rawValue { return nil }
        try check(code, "ref \(name)")
        return ObjectID(oid)
    }

    /// The commit a ref ultimately names, peeling annotated tags.
    func peelToCommit(_ id: ObjectID) throws -> ObjectID {
        var oid = id.git
        var object: OpaquePointer?
        try check(git_object_lookup(&object, pointer, &oid, GIT_OBJECT_ANY), "object \(id)")
        defer { git_object_free(object) }
        var peeled: OpaquePointer?
        let code = git_object_peel(&peeled, object, GIT_OBJECT_COMMIT)
        if code < 0 { throw SnapshotError.invalidRevision("\(id) is not a commit") }
        defer { git_object_free(peeled) }
        return ObjectID(git_object_id(peeled).pointee)
    }

    /// Where a symbolic ref points (`HEAD` -> `refs/heads/main`), nil if it is not symbolic.
    func symbolicTarget(_ name: String) -> String? {
        var ref: OpaquePointer?
        guard git_reference_lookup(&ref, pointer, name) == 0 else { return nil }
        defer { git_reference_free(ref) }
        guard git_reference_type(ref) == GIT_REFERENCE_SYMBOLIC, let target = git_reference_symbolic_target(ref) else {
            return nil
        }
        return String(cString: target)
    }

    func setSymbolic(_ name: String, to target: String, message: String) throws {
        var ref: OpaquePointer?
        try check(git_reference_symbolic_create(&ref, pointer, name, target, 1, message), "cannot set \(name)")
        git_reference_free(ref)
    }

    /// Moves (or creates) `name` to `id` only if it still points at `expected` (nil: must not
    /// exist). libgit2 checks that under the ref's own lock file, so a `git` process racing us
    /// is caught as well; the reflog gets `message`.
    func updateRef(_ name: String, to id: ObjectID, expected: ObjectID?, message: String) throws {
        var new = id.git
        var ref: OpaquePointer?
        let code: Int32
        // Every move is logged (undo and redo read the reflog), even in a repository whose
        // config does not ask for it; once per ref and process is enough.
        if !loggedRefs.contains(name) {
            try check(git_reference_ensure_log(pointer, name), "cannot create the reflog of \(name)")
            loggedRefs.insert(name)
        }
        if var old = expected?.git {
            code = git_reference_create_matching(&ref, pointer, name, &new, 1, &old, message)
        } else {
            code = git_reference_create_matching(&ref, pointer, name, &new, 0, nil, message)
        }
        if code == GIT_EMODIFIED.rawValue {
            throw SnapshotError.stale("branch \(name.replacingOccurrences(of: "refs/heads/", with: "")) has moved")
        }
        // The ref's lock file exists: `git` is moving it (git takes no vost.lock), or a
        // process died while moving it. `Store.updatingRefs` tells the two apart.
        if code == GIT_ELOCKED.rawValue { throw RefLockHeld(path: "\(path)/\(name).lock") }
        if code == GIT_EEXISTS.rawValue { throw SnapshotError.alreadyExists(name) }
        try check(code, "cannot update \(name)")
        git_reference_free(ref)
    }

    func deleteRef(_ name: String) throws {
        var ref: OpaquePointer?
        let code = git_reference_lookup(&ref, pointer, name)
        if code == GIT_ENOTFOUND.rawValue { throw SnapshotError.notFound(name) }
        try check(code, "ref \(name)")
        defer { git_reference_free(ref) }
        let deleted = git_reference_delete(ref)
        if deleted == GIT_ELOCKED.rawValue { throw RefLockHeld(path: "\(path)/\(name).lock") }
        try check(deleted, "cannot delete \(name)")
    }

    /// Full names of the refs under `prefix` (`refs/heads/`), sorted.
    func refNames(under prefix: String) throws -> [String] {
        var iterator: OpaquePointer?
        try check(git_reference_iterator_new(&iterator, pointer), "cannot list refs")
        defer { git_reference_iterator_free(iterator) }
        var names: [String] = []
        var name: UnsafePointer<CChar>?
        while git_reference_next_name(&name, iterator) == 0, let name {
            let text = String(cString: name)
            if text.hasPrefix(prefix) { names.append(text) }
        }
        return names.sorted()
    }

    func isValidRefName(_ name: String) -> Bool {
        var valid: Int32 = 0
        return git_reference_name_is_valid(&valid, name) == 0 && valid != 0
    }

    /// The reflog of `name`, newest entry first; empty when the ref has none.
    func reflog(_ name: String) throws -> [ReflogEntry] {
        var log: OpaquePointer?
        try check(git_reflog_read(&log, pointer, name), "reflog of \(name)")
        defer { git_reflog_free(log) }
        let count = git_reflog_entrycount(log)
        var entries: [ReflogEntry] = []
        entries.reserveCapacity(count)
        for i in 0..<count {
            guard let entry = git_reflog_entry_byindex(log, i) else { continue }
            let signature = git_reflog_entry_committer(entry)?.pointee
            let message = git_reflog_entry_message(entry).map { String(cString: $0) } ?? ""
            entries.append(ReflogEntry(
                old: ObjectID(git_reflog_entry_id_old(entry).pointee),
                new: ObjectID(git_reflog_entry_id_new(entry).pointee),
                committerName: signature?.name.map { String(cString: $0) } ?? "",
                committerEmail: signature?.email.map { String(cString: $0) } ?? "",
                time: Date(timeIntervalSince1970: TimeInterval(signature?.when.time ?? 0)),
                message: message))
        }
        return entries
    }

    /// The work tree of a non-bare repository, nil for a bare one.
    var workDirectory: String? {
        guard git_repository_is_bare(pointer) == 0, let dir = git_repository_workdir(pointer) else { return nil }
        var path = String(cString: dir)
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        return path
    }

    /// The identity libgit2 writes into reflog lines.
    func setIdentity(name: String, email: String) throws {
        try check(git_repository_set_ident(pointer, name, email), "cannot set identity")
    }
}
