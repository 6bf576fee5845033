import CFuse
import Foundation
import Logging
import SnapshotFS

/// What is mounted and how.
struct MountConfig: Sendable {
    /// The mounted branch; nil for `--ref`.
    var branch: String?
    /// The commit of a `--ref` mount.
    var fixed: ObjectID?
    var readOnly: Bool
    var uid: uid_t = getuid()
    var gid: gid_t = getgid()
}

/// The filesystem in Swift terms: every FUSE operation of `Bridge/` lands on one method here,
/// which returns a value or throws; `Bridge/` turns that into exactly one reply.
final class Filesystem: @unchecked Sendable {
    // @unchecked: shared state is in `inodes`, `handles` and `watcher`, each locked itself.
    let store: Store
    let config: MountConfig
    let inodes: InodeTable
    let handles = HandleTable()
    let namespace: Namespace
    let watcher: TipWatcher?
    let logger: Logger
    /// The libfuse session, for telling the kernel what changed; set once it exists.
    nonisolated(unsafe) var session: OpaquePointer?
    /// Set in `init` when the kernel agreed to skip opendir (and, read-only, open): reads and
    /// listings then come with no handle and are served by inode.
    nonisolated(unsafe) var noOpendir = false
    nonisolated(unsafe) var noOpen = false

    /// History never changes: the kernel may keep names and attributes for an hour.
    static let immutableTimeout = 3600.0
    /// The branch can move under us (other writers): names and attributes are re-checked
    /// after a second, which is the promise for showing another process's commit.
    static let liveTimeout = 1.0

    init(store: Store, config: MountConfig, logger: Logger) throws {
        self.store = store
        self.config = config
        self.logger = logger
        namespace = Namespace(store: store, branch: config.branch, fixed: config.fixed)
        if let fixed = config.fixed {
            watcher = nil
            inodes = InodeTable(root: .commit(fixed, .root, route: []))
        } else {
            watcher = try TipWatcher(store: store, branch: config.branch ?? "main", logger: logger)
            inodes = InodeTable(root: .branch(.root))
        }
    }

    var tip: Snapshot? { watcher?.snapshot }

    // MARK: Nodes

    func node(_ id: UInt64) throws -> Node {
        guard let node = inodes.node(id) else { throw Errno.noEntry }
        return node
    }

    /// The snapshot and path behind a node; nil for the virtual index folders.
    func view(_ node: Node) throws -> (snapshot: Snapshot, path: RepoPath, history: Bool)? {
        switch node {
        case .branch(let path), .branchFile(let path, _, _):
            guard let tip else { throw Errno.noEntry }
            return (tip, path, false)
        case .commit(let id, let path, _):
            return (try store.snapshot(of: id), path, true)
        case .index, .indexTags, .indexBranches, .indexLog:
            return nil
        }
    }

    /// How long the kernel may trust a node's attributes. Files of the branch stand for one
    /// blob and history never changes: long. A branch directory's attributes follow the tip
    /// (its time is the tip's commit time), and the index folders list moving refs: short.
    func attrTimeout(_ node: Node) -> Double {
        switch node {
        case .commit, .branchFile: return Self.immutableTimeout
        case .branch, .index, .indexTags, .indexBranches, .indexLog: return Self.liveTimeout
        }
    }

    /// How long the kernel may trust that `name` in `parent` is `child`. Names whose meaning
    /// moves with the tip (`@~1`, `@main`, the index folders' entries) are short; names in
    /// history are fixed; names in the branch are long, because the tip watcher invalidates
    /// exactly the names that change when the branch moves (see `invalidate`).
    func entryTimeout(parent: Node, child: Node) -> Double {
        switch (parent, child) {
        case (.commit(_, _, let route), .commit) where !route.isEmpty: return Self.immutableTimeout
        case (.branch, .branch), (.branch, .branchFile): return Self.immutableTimeout
        default: return Self.liveTimeout
        }
    }

    /// The node `name` names inside `parent`.
    func child(of parent: Node, named name: [UInt8]) throws -> Node {
        switch parent {
        case .branch(let path):
            if path.isRoot, name.first == UInt8(ascii: "@") {
                // A real entry wins over the revision reading of its name.
                if let tip, let real = (try? tip.entryIfPresent(at: RepoPath.root.appending(name))) ?? nil {
                    return Self.branchNode(try path.appending(name), real)
                }
                if name == [UInt8(ascii: "@")] { return .index }
                return .commit(try namespace.resolve(atName: name), .root, route: name)
            }
            guard let tip else { throw Errno.noEntry }
            let childPath = try pathFor(path, name)
            guard let entry = try tip.entryIfPresent(at: childPath) else { throw Errno.noEntry }
            return Self.branchNode(childPath, entry)
        case .branchFile:
            throw Errno.notDirectory
        case .commit(let id, let path, let route):
            if path.isRoot, route.isEmpty, name.first == UInt8(ascii: "@") {
                // The root of a --ref mount has the same @ folders.
                if try store.snapshot(of: id).entryIfPresent(at: RepoPath.root.appending(name)) == nil {
                    if name == [UInt8(ascii: "@")] { return .index }
                    return .commit(try namespace.resolve(atName: name), .root, route: name)
                }
            }
            let childPath = try pathFor(path, name)
            guard try store.snapshot(of: id).entryIfPresent(at: childPath) != nil else { throw Errno.noEntry }
            return .commit(id, childPath, route: route)
        case .index:
            switch name {
            case Array("tags".utf8): return .indexTags
            case Array("branches".utf8): return .indexBranches
            case Array("log".utf8): return .indexLog
            default: throw Errno.noEntry
            }
        case .indexTags:
            return .commit(try namespace.tag(name), .root, route: Array("@/tags/".utf8) + name)
        case .indexBranches:
            return .commit(try namespace.branchTip(name), .root, route: Array("@/branches/".utf8) + name)
        case .indexLog:
            return .commit(try namespace.logCommit(name), .root, route: Array("@/log/".utf8) + name)
        }
    }

    private func pathFor(_ path: RepoPath, _ name: [UInt8]) throws -> RepoPath {
        do { return try path.appending(name) } catch { throw Errno.noEntry }
    }

    /// A directory's entries, each with its node and (where it has one) tree entry and
    /// snapshot, for `readdir`/`readdirplus`.
    func children(of node: Node) throws -> [(name: [UInt8], node: Node)] {
        switch node {
        case .branchFile:
            throw Errno.notDirectory
        case .branch, .commit:
            guard let (snap, path, _) = try view(node) else { return [] }
            let found = try snap.entry(at: path)
            guard found.mode.isDirectory else { throw Errno.notDirectory }
            return try snap.entries(path).map { entry in
                let childPath = path.appending(path: try RepoPath(bytes: entry.name))
                if case .commit(let id, _, let route) = node { return (entry.name, .commit(id, childPath, route: route)) }
                return (entry.name, Self.branchNode(childPath, entry))
            }
        case .index:
            return [(Array("branches".utf8), .indexBranches), (Array("log".utf8), .indexLog), (Array("tags".utf8), .indexTags)]
        case .indexTags:
            return namespace.tagNames().compactMap { name in
                let encoded = Namespace.encode(name)
                guard let id = try? namespace.tag(encoded) else { return nil }
                return (encoded, .commit(id, .root, route: Array("@/tags/".utf8) + encoded))
            }
        case .indexBranches:
            return namespace.branchNames().compactMap { name in
                let encoded = Namespace.encode(name)
                guard let id = try? namespace.branchTip(encoded) else { return nil }
                return (encoded, .commit(id, .root, route: Array("@/branches/".utf8) + encoded))
            }
        case .indexLog:
            let start: Snapshot
            if let tip { start = tip } else if let fixed = config.fixed { start = try store.snapshot(of: fixed) } else { return [] }
            return try namespace.logEntries(from: start).map { ($0.name, .commit($0.commit, .root, route: Array("@/log/".utf8) + $0.name)) }
        }
    }

    // MARK: Attributes

    static func branchNode(_ path: RepoPath, _ entry: TreeEntry) -> Node {
        entry.mode.isDirectory ? .branch(path) : .branchFile(path, entry.mode, entry.id)
    }

    func attributes(_ node: Node, id: UInt64) throws -> stat {
        if case .branchFile(let path, let mode, let blob) = node {
            // The blob this inode stands for, even if the branch has moved on since.
            return try attributes(of: TreeEntry(name: path.name, mode: mode, id: blob), in: tip!, history: false, id: id)
        }
        guard let (snap, path, history) = try view(node) else {
            return makeStat(id: id, mode: S_IFDIR | 0o555, size: 0, nlink: 2, time: tip?.time ?? Date())
        }
        return try attributes(of: snap.entry(at: path), in: snap, history: history, id: id)
    }

    func attributes(of entry: TreeEntry, in snap: Snapshot, history: Bool, id: UInt64) throws -> stat {
        switch entry.mode {
        case .directory:
            let tree = try store.tree(entry.id)
            return makeStat(id: id, mode: S_IFDIR | (history || config.readOnly ? 0o555 : 0o755), size: 0,
                            nlink: 2 + tree.directoryCount, time: snap.time)
        case .gitlink:
            return makeStat(id: id, mode: S_IFDIR | 0o555, size: 0, nlink: 2, time: snap.time)
        case .symlink:
            return makeStat(id: id, mode: S_IFLNK | 0o777, size: try store.blobSize(entry.id), nlink: 1, time: snap.time)
        case .executable:
            return makeStat(id: id, mode: S_IFREG | 0o755, size: try store.blobSize(entry.id), nlink: 1, time: snap.time)
        case .file:
            return makeStat(id: id, mode: S_IFREG | 0o644, size: try store.blobSize(entry.id), nlink: 1, time: snap.time)
        }
    }

    private func makeStat(id: UInt64, mode: mode_t, size: Int, nlink: Int, time: Date) -> stat {
        var st = stat()
        st.st_ino = ino_t(id)
        st.st_mode = mode
        st.st_nlink = nlink_t(nlink)
        st.st_uid = config.uid
        st.st_gid = config.gid
        st.st_size = off_t(size)
        st.st_blksize = 4096
        st.st_blocks = blkcnt_t((size + 511) / 512)
        let seconds = Int(time.timeIntervalSince1970)
        let stamp = timespec(tv_sec: seconds, tv_nsec: 0)
        st.st_mtim = stamp
        st.st_ctim = stamp
        st.st_atim = stamp
        return st
    }

    // MARK: Files

    /// Opens a file for reading. Writes are refused here (history and read-only mounts);
    /// the page cache is kept across opens when the content is known not to have changed.
    func open(_ id: UInt64, flags: Int32) throws -> (handle: UInt64, keepCache: Bool) {
        let node = try node(id)
        if flags & O_ACCMODE != O_RDONLY || flags & O_TRUNC != 0 { throw Errno.readOnly }
        let blob: ObjectID
        if case .branchFile(_, _, let id) = node {
            blob = id
        } else {
            guard let (snap, path, _) = try view(node) else { throw Errno.isDirectory }
            let entry = try snap.entry(at: path)
            guard !entry.mode.isDirectory else { throw Errno.isDirectory }
            blob = entry.id
        }
        // Every file inode stands for one blob, which never changes: the kernel may keep
        // its cached pages across opens.
        return (handles.add(.file(try BlobReader(store: store, id: blob, shared: true))), true)
    }

    /// Reads through an open handle, or, when the kernel skips opens, through the inode's
    /// reader (kept in a small cache so a file read in many pieces is inflated once).
    func read(handle: UInt64, inode: UInt64, offset: Int, size: Int) throws -> [UInt8] {
        if handle != 0 {
            guard case .file(let reader)? = handles.get(handle) else { throw Errno.badHandle }
            return try reader.read(at: offset, count: size)
        }
        if let reader = handles.reader(inode: inode) { return try reader.read(at: offset, count: size) }
        let reader = try BlobReader(store: store, id: try blob(of: try node(inode)), shared: true)
        handles.keep(reader, inode: inode)
        return try reader.read(at: offset, count: size)
    }

    private func blob(of node: Node) throws -> ObjectID {
        if case .branchFile(_, _, let id) = node { return id }
        guard let (snap, path, _) = try view(node) else { throw Errno.isDirectory }
        let entry = try snap.entry(at: path)
        guard !entry.mode.isDirectory else { throw Errno.isDirectory }
        return entry.id
    }

    /// A directory's entries for `readdir`: from its open handle, or, when the kernel skips
    /// opendir, listed afresh (the kernel caches the result, so this runs once per change).
    func listing(inode: UInt64, handle: UInt64) throws -> (Node, [(name: [UInt8], node: Node)]) {
        if handle != 0 {
            guard case .directory(let node, let entries)? = handles.get(handle) else { throw Errno.badHandle }
            return (node, entries)
        }
        let node = try node(inode)
        if let cached = handles.listing(inode: inode) { return (node, cached) }
        var entries = try children(of: node)
        entries.insert((Array("..".utf8), node), at: 0)
        entries.insert((Array(".".utf8), node), at: 0)
        if !node.isVirtualFolder { handles.keep(listing: entries, inode: inode) }
        return (node, entries)
    }

    func readlink(_ id: UInt64) throws -> [UInt8] {
        let node = try node(id)
        if case .branchFile(_, let mode, let blob) = node {
            guard mode == .symlink else { throw Errno.invalid }
            return try store.blob(blob)
        }
        guard let (snap, path, _) = try view(node) else { throw Errno.invalid }
        let entry = try snap.entry(at: path)
        guard entry.mode == .symlink else { throw Errno.invalid }
        return try store.blob(entry.id)
    }

    // MARK: Directories

    /// Lists a directory once per open, so `readdir` offsets stay valid as the tip moves.
    /// Also says whether the kernel's cached listing of this inode is still right: always in
    /// history; on the branch, when the directory's tree is the one listed last time.
    func opendir(_ id: UInt64) throws -> (handle: UInt64, keepCache: Bool) {
        let node = try node(id)
        var entries = try children(of: node)
        // `.` and `..` first, as every Linux filesystem lists them.
        entries.insert((Array("..".utf8), node), at: 0)
        entries.insert((Array(".".utf8), node), at: 0)
        var keep = node.isImmutable
        if case .branch(let path) = node, let tree = try? tip?.entry(at: path).id {
            keep = handles.sameListing(inode: id, tree: tree)
        }
        return (handles.add(.directory(node: node, entries: entries)), keep)
    }

    func statfs() -> statvfs {
        var info = statvfs()
        if statvfs(store.path, &info) != 0 { info = statvfs() }
        info.f_namemax = 255
        return info
    }
}

extension Filesystem {
    /// Starts what runs beside the request loop (after the daemon's fork).
    func start() {
        watcher?.onChange = { [weak self] old, new in self?.invalidate(from: old, to: new) }
        watcher?.onTick = { [weak self] in self?.invalidateIndexFolders() }
        watcher?.start()
    }

    /// The index folders list refs that move without the branch moving (a new tag): their
    /// cached listings and attributes are dropped on every poll, if the kernel has them.
    func invalidateIndexFolders() {
        guard let session else { return }
        for node in [Node.index, .indexTags, .indexBranches, .indexLog] {
            if let id = inodes.existingID(node) { fuse_lowlevel_notify_inval_inode(session, fuse_ino_t(id), 0, 0) }
        }
    }

    /// Tells the kernel which names and listings the branch's move changed, so that its
    /// long-lived cache of the branch stays right: for every changed path, each name on the
    /// way to it whose directory the kernel knows, and those directories' listings.
    func invalidate(from old: Snapshot, to new: Snapshot) {
        guard let session, let changes = try? store.diff(from: old.treeID, to: new.treeID) else { return }
        var names = Set<[UInt8]>()
        var directories = Set<UInt64>()
        var pairs: [(UInt64, [UInt8])] = []
        for item in changes.added + changes.updated + changes.deleted {
            var parent = RepoPath.root
            for name in item.path.components {
                if let id = inodes.existingID(.branch(parent)) {
                    let key = withUnsafeBytes(of: id) { Array($0) } + name
                    if names.insert(key).inserted { pairs.append((id, name)) }
                    directories.insert(id)
                }
                guard let next = try? parent.appending(name) else { break }
                parent = next
            }
        }
        for (parent, name) in pairs {
            _ = name.withUnsafeBufferPointer { raw in
                raw.withMemoryRebound(to: CChar.self) { fuse_lowlevel_notify_inval_entry(session, fuse_ino_t(parent), $0.baseAddress, name.count) }
            }
        }
        for id in directories { fuse_lowlevel_notify_inval_inode(session, fuse_ino_t(id), 0, 0) }
        handles.forgetListings()
        logger.debug("branch moved: invalidated \(pairs.count) names in \(directories.count) directories")
    }

    /// Stops it; called once the loop has ended, before unmounting.
    func stop() { watcher?.stop() }
}
