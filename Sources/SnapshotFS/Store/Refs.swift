import Foundation

/// Branches or tags as a dictionary-like collection (vost's `store.branches`/`store.tags`).
///
/// A branch snapshot is writable; a tag snapshot is read-only. Setting a branch forks or
/// moves it; setting a tag that exists is an error, as in vost (tags do not move).
public struct RefCollection: Sendable {
    /// Branches (`refs/heads/`) or tags (`refs/tags/`).
    public enum Kind: Sendable { case branch, tag }

    let store: Store
    /// Which refs this collection holds.
    public let kind: Kind

    var prefix: String { kind == .branch ? "refs/heads/" : "refs/tags/" }

    func fullName(_ name: String) throws -> String {
        guard isValidName(name) else {
            throw SnapshotError.invalidArgument("invalid \(kind == .branch ? "branch" : "tag") name \(name)")
        }
        return prefix + name
    }

    /// Whether `name` can name a ref of this kind (as `git check-ref-format` says).
    func isValidName(_ name: String) -> Bool {
        !name.isEmpty && !name.contains(":") && store.git { $0.isValidRefName(prefix + name) }
    }

    /// The snapshot at the tip of `name`; `notFound` if there is no such ref.
    public subscript(name: String) -> Snapshot {
        get throws {
            guard let snapshot = try get(name) else { throw SnapshotError.notFound("\(kind == .branch ? "branch" : "tag") \(name)") }
            return snapshot
        }
    }

    /// The snapshot at the tip of `name`, nil if there is no such ref (tags are peeled to their commit).
    public func get(_ name: String) throws -> Snapshot? {
        guard let id = try store.commitID(ofRef: try fullName(name)) else { return nil }
        return Snapshot(store: store, commit: try store.commit(id), refName: name, writable: kind == .branch)
    }

    /// The snapshot at the tip of `name`, nil if there is no such ref or `name` cannot name
    /// one. A ref that is there but cannot be read is an error, never "absent": a caller
    /// acting on "absent" would make the branch anew over another writer's, or read the name
    /// as something else.
    public func lookup(_ name: String) throws -> Snapshot? {
        guard isValidName(name) else { return nil }
        return try get(name)
    }

    /// Whether `name` exists (see `lookup`).
    public func contains(_ name: String) throws -> Bool { try lookup(name) != nil }

    /// Short names, sorted.
    public var names: [String] {
        get throws { try store.git { try $0.refNames(under: prefix) }.map { String($0.dropFirst(prefix.count)) } }
    }

    /// How many refs of this kind there are.
    public var count: Int { get throws { try names.count } }

    /// Points `name` at `snapshot`'s commit: forks or moves a branch; creates a tag, refusing
    /// to move one that exists.
    public func set(_ name: String, to snapshot: Snapshot) throws {
        let full = try fullName(name)
        try store.updatingRefs { repo in
            let current = try repo.resolve(ref: full)
            if kind == .tag, current != nil { throw SnapshotError.alreadyExists("tag \(name)") }
            let verb = current == nil ? "created from" : "reset to"
            try repo.updateRef(full, to: snapshot.commitID, expected: current,
                               message: "\(kind == .branch ? "branch" : "tag"): \(verb) \(snapshot.commitHash)")
        }
    }

    /// Deletes the ref, under `vost.lock` like every ref move; `notFound` if absent.
    public func delete(_ name: String) throws {
        let full = try fullName(name)
        try store.updatingRefs { try $0.deleteRef(full) }
    }

    /// The reflog of `name`, newest first.
    public func reflog(_ name: String) throws -> [ReflogEntry] {
        let full = try fullName(name)
        return try store.git { try $0.reflog(full) }
    }

    // MARK: The current branch (HEAD)

    /// The branch `HEAD` names even when it has no commit yet (an empty repository), nil
    /// when `HEAD` is detached.
    public var headName: String? {
        guard kind == .branch, let target = store.git({ $0.symbolicTarget("HEAD") }), target.hasPrefix(prefix) else {
            return nil
        }
        return String(target.dropFirst(prefix.count))
    }

    /// Whether the repository has no branch at all (a `git init` with no commit yet).
    public var isEmpty: Bool { get throws { try names.isEmpty } }

    /// The tip of `name`, or, when the branch has no commit yet, its unborn snapshot (an
    /// empty tree whose first commit creates it).
    public func tipOrUnborn(_ name: String) throws -> Snapshot {
        try get(name) ?? Snapshot.unborn(store: store, branch: try fullName(name).dropFirst(prefix.count).description)
    }

    /// The branch `HEAD` names, or nil when `HEAD` is detached or names a missing branch.
    public var currentName: String? {
        get throws {
            guard kind == .branch, let target = store.git({ $0.symbolicTarget("HEAD") }), target.hasPrefix(prefix) else {
                return nil
            }
            let name = String(target.dropFirst(prefix.count))
            return try contains(name) ? name : nil
        }
    }

    /// The snapshot of the current branch.
    public var current: Snapshot {
        get throws {
            guard let name = try currentName else { throw SnapshotError.notFound("HEAD names no branch") }
            return try self[name]
        }
    }

    /// Makes `name` the current branch (`HEAD`); it must exist.
    public func setCurrent(_ name: String) throws {
        guard kind == .branch else { throw SnapshotError.invalidArgument("HEAD must name a branch") }
        let full = try fullName(name)
        guard try contains(name) else { throw SnapshotError.notFound("branch \(name)") }
        try store.git { try $0.setSymbolic("HEAD", to: full, message: "checkout: moving to \(name)") }
    }
}
