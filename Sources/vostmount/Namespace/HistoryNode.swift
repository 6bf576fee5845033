import Foundation
import SnapshotFS

/// A path in one commit: everything under a history folder (`@~1/...`, `@/log/ENTRY/...`, a
/// `--ref` mount). Immutable. `route` is the folder's own path in the mount (`@~1`,
/// `@/tags/v1`): the same commit reached by two routes is two directories, since the kernel
/// refuses a directory with two parents.
///
/// The node carries its tree entry and its commit's time, found when it was looked up or
/// listed, so that its attributes, listing and content never walk the path from the root
/// again. They are not part of its identity (the commit, path and route decide it).
struct HistoryNode: MountNode {
    let commit: ObjectID
    let path: RepoPath
    let route: [UInt8]
    let entry: TreeEntry
    let time: Date

    static func == (a: HistoryNode, b: HistoryNode) -> Bool { a.commit == b.commit && a.path == b.path && a.route == b.route }
    func hash(into hasher: inout Hasher) {
        hasher.combine(commit)
        hasher.combine(path)
        hasher.combine(route)
    }

    /// The root of `commit`, reached as `route`.
    static func root(_ commit: ObjectID, route: [UInt8], in fs: Filesystem) throws -> Node {
        root(try fs.store.summary(of: commit), route: route)
    }

    static func root(_ commit: CommitSummary, route: [UInt8]) -> Node {
        Node(HistoryNode(commit: commit.id, path: .root, route: route,
                         entry: TreeEntry(name: [], mode: .directory, id: commit.tree), time: commit.time))
    }

    /// A name beginning with `@` at the mount's root: the index folder `@`, or a revision.
    static func atFolder(_ name: [UInt8], in fs: Filesystem) throws -> Node {
        if name == [UInt8(ascii: "@")] { return Node(IndexFolder()) }
        return try root(try fs.namespace.resolve(atName: name), route: name, in: fs)
    }

    private func child(_ entry: TreeEntry) throws -> Node {
        Node(HistoryNode(commit: commit, path: try path.appending(entry.name), route: route, entry: entry, time: time))
    }

    private func tree(in fs: Filesystem) throws -> Tree {
        if entry.mode == .gitlink { return .empty }  // a submodule: an empty folder
        guard entry.mode == .directory else { throw Errno.notDirectory }
        return try fs.store.tree(entry.id)
    }

    func listedContent(in fs: Filesystem) -> ListedContent? { entry.mode == .directory ? .tree(entry.id) : nil }

    func lookup(_ name: [UInt8], in fs: Filesystem) throws -> Node {
        let found = try tree(in: fs)[name]
        // The root of a --ref mount has the same @ folders, where its tree has no such name.
        if found == nil, path.isRoot, route.isEmpty, name.first == UInt8(ascii: "@") { return try Self.atFolder(name, in: fs) }
        guard let found else { throw Errno.noEntry }
        do { return try child(found) } catch { throw Errno.noEntry }
    }

    func children(in fs: Filesystem) throws -> [(name: [UInt8], node: Node)] {
        try tree(in: fs).entries.map { ($0.name, try child($0)) }
    }

    /// The commit's time; directories 0555.
    func attributes(id: UInt64, in fs: Filesystem) throws -> stat {
        switch entry.mode {
        case .directory:
            return fs.makeStat(id: id, mode: S_IFDIR | 0o555, size: 0, nlink: 2 + (try fs.store.tree(entry.id).directoryCount), time: time)
        case .gitlink:
            return fs.makeStat(id: id, mode: S_IFDIR | 0o555, size: 0, nlink: 2, time: time)
        case .symlink:
            return fs.makeStat(id: id, mode: S_IFLNK | 0o777, size: try fs.store.blobSize(entry.id), nlink: 1, time: time)
        case .executable:
            return fs.makeStat(id: id, mode: S_IFREG | 0o755, size: try fs.fileSize(entry.id), nlink: 1, time: time)
        case .file:
            return fs.makeStat(id: id, mode: S_IFREG | 0o644, size: try fs.fileSize(entry.id), nlink: 1, time: time)
        }
    }

    func fileType(in fs: Filesystem) -> mode_t {
        entry.mode.isDirectory ? S_IFDIR : (entry.mode == .symlink ? S_IFLNK : S_IFREG)
    }

    /// History never changes: the kernel may keep it for an hour.
    var attributeTimeout: Double { Filesystem.immutableTimeout }

    /// Inside a commit names never change; at a `--ref` mount's root, `@` names move with refs.
    func entryTimeout(of child: Node) -> Double {
        !route.isEmpty && child.as(HistoryNode.self) != nil ? Filesystem.immutableTimeout : Filesystem.liveTimeout
    }

    func listingVersion(in fs: Filesystem) -> UInt64? { 0 }

    var isImmutable: Bool { true }

    /// Every file in history stands for one blob, which never changes.
    func open(id: UInt64, flags: Int32, in fs: Filesystem) throws -> Filesystem.Opened {
        if Filesystem.isWriting(flags) { throw Errno.readOnly }
        return try fs.openHistoryFile(try blob(), id: id)
    }

    func read(inode: UInt64, offset: Int, size: Int, in fs: Filesystem) throws -> Filesystem.ReadResult {
        try Filesystem.result(try fs.cachedReader(inode: inode, blob: try blob()), offset, size)
    }

    private func blob() throws -> ObjectID {
        guard !entry.mode.isDirectory else { throw Errno.isDirectory }
        return entry.id
    }

    func readlink(in fs: Filesystem) throws -> [UInt8] {
        guard entry.mode == .symlink else { throw Errno.invalid }
        return try fs.store.blob(entry.id)
    }

    /// The root of `@<rev>`, `@/log/<entry>`, `@/tags/<name>`, `@/branches/<name>`, and of a
    /// `--ref` mount.
    func noteTarget(in fs: Filesystem) -> ObjectID? {
        guard path.isRoot, !route.isEmpty || fs.config.fixed == commit else { return nil }
        return commit
    }
}
