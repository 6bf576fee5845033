import SnapshotFS

/// What an inode of the mount stands for. Nodes are keys: the same key always gets the same
/// inode number while the kernel remembers it.
enum Node: Hashable, Sendable {
    /// A file, symlink or directory of the mounted branch: a live node of the workspace. It
    /// keeps its identity across renames, and when another writer changes a file the path
    /// gets a new node, so a descriptor opened before keeps reading what it opened (the page
    /// cache is per inode) while new opens see the new content.
    case work(WorkNode)
    /// A path in one commit: everything under a history folder. Immutable. `route` is the
    /// folder's own path in the mount (`@~1`, `@/tags/v1`): the same commit reached by two
    /// routes is two directories, since the kernel refuses a directory with two parents.
    case commit(ObjectID, RepoPath, route: [UInt8])
    /// `@`: the index folder with `tags`, `branches`, `log`, `versions`, `gmt` and `status`.
    case index
    case indexTags
    case indexBranches
    case indexLog
    /// `@/versions/<path>`: the versions of one path (see `VersionsIndex`); `@/versions`
    /// itself is `.versions(.root)`.
    case versions(RepoPath)
    /// `@/gmt`: the branch's commits under Samba's snapshot names (`@GMT-...`).
    case indexGMT
    /// `@/status`: a read-only JSON file, made afresh at every open (see `StatusFile`).
    case status

    /// History never changes, so the kernel may cache it for long.
    var isImmutable: Bool {
        if case .commit = self { return true }
        return false
    }

    var isVirtualFolder: Bool {
        switch self {
        case .index, .indexTags, .indexBranches, .indexLog, .indexGMT, .versions: return true
        default: return false
        }
    }
}
