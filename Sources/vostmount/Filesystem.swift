import CFuse
import Foundation
import Logging
import SnapshotFS
import Synchronization

/// What is mounted and how.
struct MountConfig: Sendable {
    /// The mounted branch; nil for `--ref`.
    var branch: String?
    /// The commit of a `--ref` mount.
    var fixed: ObjectID?
    var readOnly: Bool
    /// Seconds without change (and with nothing open for writing) before a batch commits.
    var commitDelay: Double = 1
    /// Where pending file data is staged; nil for the repository's `vostmount-staging`.
    var staging: String?
    /// `--remote`: the configured remote the branch is kept in step with.
    var remote: String?
    /// Seconds between fetches from the remote.
    var fetchInterval: Double = RemoteSync.defaultFetchInterval
    /// On unmount, how long the last push may take.
    var pushTimeout: Double = 10
    /// `--notes`: notes as extended attributes of history folders.
    var notes = false
    /// Git LFS pointers read as their objects, and new content matching `filter=lfs` in
    /// `.gitattributes` stored as LFS objects (off with `--no-lfs`).
    var lfs = true
    /// `--lfs-threshold`: content larger than this many bytes goes to LFS whatever the patterns.
    var lfsThreshold: Int?
    /// `--lfs-fetch`: with `--remote`, which LFS objects come from the remote's LFS endpoint
    /// without being asked (see `LFSDownloads`), and how long an open waits for one.
    var lfsFetch: LFSDownloads.Mode = .all
    var lfsTimeout: TimeInterval = LFSDownloads.defaultTimeout
    /// LFS objects read by the kernel straight from the store where it can (FUSE
    /// passthrough, see `BackingFiles`); off with `--no-passthrough`.
    var passthrough = true
    /// The log file (`--log`, or the repository's `vostmount.log`, see `DaemonLog`): an open
    /// descriptor (append) that becomes the daemon's stderr; nil where none could be made.
    var logDescriptor: Int32?
    var logPath: String?
    var uid: uid_t = getuid()
    var gid: gid_t = getgid()
}

/// The filesystem in Swift terms: every FUSE operation of `Bridge/` lands on one method here,
/// which returns a value or throws; `Bridge/` turns that into exactly one reply.
final class Filesystem: @unchecked Sendable {
    // @unchecked: shared state is in `inodes`, `handles` and `workspace`, each locked itself.
    let store: Store
    let config: MountConfig
    let inodes: InodeTable
    let handles = HandleTable()
    let namespace: Namespace
    /// The mounted branch (pending changes included); nil for a `--ref` mount.
    let workspace: Workspace?
    let poller = Poller()
    /// The remote the branch follows (`--remote`); nil without one.
    let remoteSync: RemoteSync?
    /// LFS objects from the remote's LFS endpoint (`--remote`, LFS on); nil without.
    let lfsDownloads: LFSDownloads?
    /// The conflict copies of the last merge into the branch, by a commit of this mount or
    /// by a fetch, and the tip the poller last saw (to push after every commit).
    let syncState = Mutex<(conflicts: [String], seenTip: ObjectID?)>(([], nil))
    /// `@/versions` and `@/gmt` (see `VersionsIndex`), and the tip whose versions folders
    /// the kernel was last told about.
    let versions = VersionsIndex()
    let versionsTip = Mutex<ObjectID?>(nil)
    /// Small files go into the kernel's cache as they are opened (see `Prefill`).
    let prefill = Prefill()
    /// The device channel that lets the kernel read LFS objects itself, and which open
    /// files it does (see `BackingFiles`).
    let passthrough: PassthroughChannel
    let backingFiles: BackingFiles
    let logger: Logger
    /// Told to the kernel in order, off the request threads (see `forward`).
    let invalidations = DispatchQueue(label: "vostmount.invalidate")
    /// The libfuse session, for telling the kernel what changed: set by `Session.run` once it
    /// exists and cleared before it is destroyed, while the poller, the sync thread and the
    /// invalidation queue read it, so it is an atomic (the address, as a number).
    private let sessionAddress = Atomic<Int>(0)
    var session: OpaquePointer? {
        get { OpaquePointer(bitPattern: sessionAddress.load(ordering: .acquiring)) }
        set { sessionAddress.store(Int(bitPattern: newValue), ordering: .releasing) }
    }
    /// Set in the `init` callback when the kernel agreed to skip opendir (and, read-only,
    /// open): reads and listings then come with no handle and are served by inode. Written
    /// once by libfuse's `init` and read by every worker: atomics, since `init` runs on the
    /// loop's thread and nothing orders it with the workers for Swift.
    private let skipsOpendir = Atomic<Bool>(false)
    private let skipsOpen = Atomic<Bool>(false)
    var noOpendir: Bool {
        get { skipsOpendir.load(ordering: .acquiring) }
        set { skipsOpendir.store(newValue, ordering: .releasing) }
    }
    var noOpen: Bool {
        get { skipsOpen.load(ordering: .acquiring) }
        set { skipsOpen.store(newValue, ordering: .releasing) }
    }

    /// History never changes, and the branch's nodes are invalidated exactly when another
    /// writer changes them: the kernel may keep both for an hour.
    static let immutableTimeout = 3600.0
    /// Names whose meaning moves with refs (`@~1`, the index folders) are re-checked after a
    /// second, which is the promise for showing another process's commit.
    static let liveTimeout = 1.0

    init(store: Store, config: MountConfig, logger: Logger) throws {
        self.store = store
        self.config = config
        self.logger = logger
        namespace = Namespace(store: store, branch: config.branch, fixed: config.fixed)
        passthrough = PassthroughChannel(logger: logger, storeOnStackedFilesystem: vost_is_stacked(store.path) != 0)
        backingFiles = BackingFiles(channel: config.passthrough && config.lfs ? passthrough : nil)
        if let name = config.remote, let branch = config.branch {
            let remote = try Remote(store: store, name: name)
            remoteSync = RemoteSync(remote: remote, branch: branch, interval: config.fetchInterval, readOnly: config.readOnly,
                                    logger: logger)
            lfsDownloads = config.lfs ? LFSDownloads(remote: remote, mode: config.lfsFetch, timeout: config.lfsTimeout,
                                                     logger: logger) : nil
        } else {
            remoteSync = nil
            lfsDownloads = nil
        }
        if let fixed = config.fixed {
            workspace = nil
            inodes = InodeTable(root: .commit(fixed, .root, route: []))
        } else {
            if !config.readOnly, let branch = config.branch {
                Self.takeInKeptBatches(store: store, branch: branch, logger: logger)
            }
            let workspace = try Workspace(store: store, branch: config.branch ?? "main", staging: config.staging, lfs: config.lfs,
                                          lfsThreshold: config.lfsThreshold)
            if !config.readOnly { try workspace.prepareStaging() }
            self.workspace = workspace
            inodes = InodeTable(root: .work(workspace.root))
        }
    }

    /// The commit the branch view stands on.
    var tip: Snapshot? { workspace?.base }

    /// The commit the mount shows: the branch's tip, or a `--ref` mount's fixed commit.
    var shownCommit: Snapshot? { tip ?? config.fixed.flatMap { try? store.snapshot(of: $0) } }

    // MARK: Nodes

    func node(_ id: UInt64) throws -> Node {
        guard let node = inodes.node(id) else { throw Errno.noEntry }
        return node
    }

    /// The commit and path behind a history node.
    func view(_ node: Node) throws -> (snapshot: Snapshot, path: RepoPath)? {
        guard case .commit(let id, let path, _) = node else { return nil }
        return (try store.snapshot(of: id), path)
    }

    func attrTimeout(_ node: Node) -> Double {
        if node == .status { return 0 }
        return node.isVirtualFolder ? Self.liveTimeout : Self.immutableTimeout
    }

    /// How long the kernel may trust that `name` in `parent` is `child`. Names whose meaning
    /// moves with the tip (`@~1`, `@main`, the index folders' entries) are short.
    func entryTimeout(parent: Node, child: Node) -> Double {
        switch (parent, child) {
        case (.commit(_, _, let route), .commit) where !route.isEmpty: return Self.immutableTimeout
        case (.work, .work): return Self.immutableTimeout
        default: return Self.liveTimeout
        }
    }

    func isMountRoot(_ dir: WorkNode) -> Bool { dir === workspace?.root }

    /// The longest name, as `statfs` reports it and as Linux filesystems (and so `git
    /// checkout`) allow.
    static let nameMax = 255

    static func checkLength(_ name: [UInt8]) throws {
        if name.count > nameMax { throw Errno(code: ENAMETOOLONG) }
    }

    /// The node `name` names inside `parent`.
    func child(of parent: Node, named name: [UInt8]) throws -> Node {
        try Self.checkLength(name)
        switch parent {
        case .work(let dir):
            guard let workspace else { throw Errno.noEntry }
            guard dir.isDirectory else { throw Errno.notDirectory }
            if let real = try workspace.child(dir, name) { return .work(real) }
            if isMountRoot(dir), name.first == UInt8(ascii: "@") {
                if name == [UInt8(ascii: "@")] { return .index }
                return .commit(try namespace.resolve(atName: name), .root, route: name)
            }
            throw Errno.noEntry
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
            case Array("status".utf8): return .status
            case Array("versions".utf8): return .versions(.root)
            case Array("gmt".utf8): return .indexGMT
            default: throw Errno.noEntry
            }
        case .versions(let path):
            guard let tip = shownCommit else { throw Errno.noEntry }
            if try versions.directoryNames(path, in: tip) == nil {
                guard let found = try versions.versions(of: path, from: tip).first(where: { $0.name == name }) else { throw Errno.noEntry }
                return versionNode(path, found)
            }
            // A name in the shown commit has a version there; only a name gone from it costs a
            // walk of the history to know whether it ever had one.
            let child = try pathFor(path, name)
            guard try tip.entryIfPresent(at: child) != nil || !versions.versions(of: child, from: tip).isEmpty else {
                throw Errno.noEntry
            }
            return .versions(child)
        case .indexGMT:
            guard let tip = shownCommit, let found = try versions.gmtEntries(from: tip).first(where: { $0.name == name }) else {
                throw Errno.noEntry
            }
            return .commit(found.commit, .root, route: Array("@/gmt/".utf8) + name)
        case .status:
            throw Errno.notDirectory
        case .indexTags:
            return .commit(try namespace.tag(name), .root, route: Array("@/tags/".utf8) + name)
        case .indexBranches:
            return .commit(try namespace.branchTip(name), .root, route: Array("@/branches/".utf8) + name)
        case .indexLog:
            return .commit(try namespace.logCommit(name), .root, route: Array("@/log/".utf8) + name)
        }
    }

    /// A version's entry in `@/versions/<path>/`: that path in that commit, under a route of
    /// its own (the same commit's file seen from `@/log` is another inode).
    private func versionNode(_ path: RepoPath, _ found: VersionsIndex.Version) -> Node {
        .commit(found.version.snapshot.commitID, path, route: Array("@/versions/".utf8) + path.bytes + [0x2F] + found.name)
    }

    private func pathFor(_ path: RepoPath, _ name: [UInt8]) throws -> RepoPath {
        do { return try path.appending(name) } catch { throw Errno.noEntry }
    }

    /// A directory's entries, each with its node, for `readdir`/`readdirplus`.
    func children(of node: Node) throws -> [(name: [UInt8], node: Node)] {
        switch node {
        case .work(let dir):
            guard let workspace else { return [] }
            if dir.isGitlink { return [] }
            guard dir.isDirectory else { throw Errno.notDirectory }
            return try workspace.children(dir).map { ($0.name, .work($0.node)) }
        case .commit(let id, let path, let route):
            let snap = try store.snapshot(of: id)
            guard try snap.entry(at: path).mode.isDirectory else { throw Errno.notDirectory }
            return try snap.entries(path).map { entry in
                (entry.name, .commit(id, path.appending(path: try RepoPath(bytes: entry.name)), route: route))
            }
        case .index:
            return [(Array("branches".utf8), .indexBranches), (Array("gmt".utf8), .indexGMT), (Array("log".utf8), .indexLog),
                    (Array("status".utf8), .status), (Array("tags".utf8), .indexTags), (Array("versions".utf8), .versions(.root))]
        case .versions(let path):
            guard let tip = shownCommit else { return [] }
            if let names = try versions.directoryNames(path, in: tip) {
                return try names.map { ($0, .versions(try pathFor(path, $0))) }
            }
            return try versions.versions(of: path, from: tip).map { ($0.name, versionNode(path, $0)) }
        case .indexGMT:
            guard let tip = shownCommit else { return [] }
            return try versions.gmtEntries(from: tip).map { ($0.name, .commit($0.commit, .root, route: Array("@/gmt/".utf8) + $0.name)) }
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
        case .status:
            throw Errno.notDirectory
        case .indexLog:
            guard let start = shownCommit else { return [] }
            let entries = try namespace.logEntries(from: start)
            logger.debug("listed @/log: walked \(entries.count) commits")
            return entries.map { ($0.name, .commit($0.commit, .root, route: Array("@/log/".utf8) + $0.name)) }
        }
    }

    // MARK: Attributes

    func attributes(_ node: Node, id: UInt64) throws -> stat {
        switch node {
        case .work(let work):
            let info = try workspace!.info(work)
            let time = workspace!.base.time
            let times = info.times
            // DESIGN: files 0644/0755 everywhere; directories 0755, 0555 where nothing can change.
            switch info.mode {
            case .directory:
                return makeStat(id: id, mode: S_IFDIR | (config.readOnly ? 0o555 : 0o755), size: 0, nlink: 2 + info.subdirectories, time: time, times: times)
            case .gitlink: return makeStat(id: id, mode: S_IFDIR | 0o555, size: 0, nlink: 2, time: time, times: times)
            case .symlink: return makeStat(id: id, mode: S_IFLNK | 0o777, size: info.size, nlink: 1, time: time, times: times)
            case .executable: return makeStat(id: id, mode: S_IFREG | 0o755, size: info.size, nlink: 1, time: time, times: times)
            case .file: return makeStat(id: id, mode: S_IFREG | 0o644, size: info.size, nlink: 1, time: time, times: times)
            }
        case .commit:
            let (snap, path) = try view(node)!
            return try attributes(of: snap.entry(at: path), in: snap, id: id)
        case .index, .indexTags, .indexBranches, .indexLog, .indexGMT, .versions:
            return makeStat(id: id, mode: S_IFDIR | 0o555, size: 0, nlink: 2, time: tip?.time ?? Date())
        case .status:
            // Size 0, as /proc files have: the content is made at each open and its length
            // changes, so a reader that trusted a size would cut it (Foundation's
            // Data(contentsOf:) did); with 0, readers read to the end (the open asks for
            // direct I/O). A read-only mount gets no open, so the kernel reads through its
            // cache up to the size given: there, the length now.
            return makeStat(id: id, mode: S_IFREG | 0o444, size: noOpen ? statusJSON().count : 0, nlink: 1, time: Date())
        }
    }

    /// A history entry's attributes: the commit's time; directories 0555.
    func attributes(of entry: TreeEntry, in snap: Snapshot, id: UInt64) throws -> stat {
        switch entry.mode {
        case .directory:
            return makeStat(id: id, mode: S_IFDIR | 0o555, size: 0, nlink: 2 + (try store.tree(entry.id).directoryCount), time: snap.time)
        case .gitlink:
            return makeStat(id: id, mode: S_IFDIR | 0o555, size: 0, nlink: 2, time: snap.time)
        case .symlink:
            return makeStat(id: id, mode: S_IFLNK | 0o777, size: try store.blobSize(entry.id), nlink: 1, time: snap.time)
        case .executable:
            return makeStat(id: id, mode: S_IFREG | 0o755, size: try fileSize(entry.id), nlink: 1, time: snap.time)
        case .file:
            return makeStat(id: id, mode: S_IFREG | 0o644, size: try fileSize(entry.id), nlink: 1, time: snap.time)
        }
    }

    /// A file's size as readers see it: an LFS pointer's object size (see `MountConfig.lfs`).
    func fileSize(_ blob: ObjectID) throws -> Int {
        try config.lfs ? store.contentSize(blob) : store.blobSize(blob)
    }

    /// `times` are a branch node's own (see `FileTimes`); what is unset shows `time`, the
    /// commit's.
    private func makeStat(id: UInt64, mode: mode_t, size: Int, nlink: Int, time: Date, times: FileTimes = FileTimes()) -> stat {
        var st = stat()
        st.st_ino = ino_t(id)
        st.st_mode = mode
        st.st_nlink = nlink_t(nlink)
        st.st_uid = config.uid
        st.st_gid = config.gid
        st.st_size = off_t(size)
        st.st_blksize = 4096
        st.st_blocks = blkcnt_t(size / 512 + (size % 512 == 0 ? 0 : 1))  // (size + 511 may overflow)
        let modified = times.modified ?? Timestamp(time)
        st.st_mtim = modified.timespec
        st.st_atim = (times.accessed ?? modified).timespec
        st.st_ctim = (times.changed ?? modified).timespec
        return st
    }

    // MARK: Reading

    /// Reads through an open handle, or, when the kernel skips opens, through the inode's
    /// reader (kept in a small cache so a file read in many pieces is inflated once).
    /// What a read answers: bytes, or a range of a file for the reply to splice, with the
    /// reader that keeps its descriptor open until then.
    enum ReadResult {
        case bytes([UInt8])
        case file(fd: Int32, offset: Int, count: Int, owner: BlobReader)
    }

    func read(handle: UInt64, inode: UInt64, offset: Int, size: Int) throws -> ReadResult {
        if handle != 0 {
            switch handles.get(handle) {
            case .file(let reader)?: return try Self.result(reader, offset, size)
            case .bytes(let bytes)?: return .bytes(Array(bytes.dropFirst(offset).prefix(size)))
            case .work(let file)?: return try read(file.node, offset: offset, size: size) { try file.reader(for: $0, store: store, lfs: config.lfs) }
            default: throw Errno.badHandle
            }
        }
        switch try node(inode) {
        case .work(let node): return try read(node, offset: offset, size: size) { try cachedReader(inode: inode, blob: $0) }
        case .status: return .bytes(Array(statusJSON().dropFirst(offset).prefix(size)))
        default: break
        }
        return try Self.result(try cachedReader(inode: inode, blob: try historyBlob(of: try node(inode))), offset, size)
    }

    private func read(_ node: WorkNode, offset: Int, size: Int, reader: (ObjectID) throws -> BlobReader) throws -> ReadResult {
        switch try workspace!.read(node, at: offset, count: size) {
        case .bytes(let bytes): return .bytes(bytes)
        case .blob(let id): return try Self.result(try reader(id), offset, size)
        }
    }

    private static func result(_ reader: BlobReader, _ offset: Int, _ size: Int) throws -> ReadResult {
        switch try reader.slice(at: offset, count: size) {
        case .bytes(let bytes): return .bytes(bytes)
        case .file(let fd, let start, let count): return .file(fd: fd, offset: start, count: count, owner: reader)
        }
    }

    private func cachedReader(inode: UInt64, blob: ObjectID) throws -> BlobReader {
        if let reader = handles.reader(inode: inode), reader.id == blob { return reader }
        let reader = try BlobReader(store: store, id: blob, shared: true, lfs: config.lfs)
        handles.keep(reader, inode: inode)
        return reader
    }

    func historyBlob(of node: Node) throws -> ObjectID {
        guard let (snap, path) = try view(node) else { throw Errno.isDirectory }
        let entry = try snap.entry(at: path)
        guard !entry.mode.isDirectory else { throw Errno.isDirectory }
        return entry.id
    }

    /// A directory's entries for `readdir`: from its open handle, or, when the kernel skips
    /// opendir, listed afresh when the directory changed (kept per inode meanwhile, since
    /// one listing comes in several requests).
    func listing(inode: UInt64, handle: UInt64) throws -> (Node, [(name: [UInt8], node: Node)]) {
        if handle != 0 {
            guard case .directory(let node, let entries)? = handles.get(handle) else { throw Errno.badHandle }
            return (node, entries)
        }
        let node = try node(inode)
        var version: UInt64 = 0
        if case .work(let dir) = node { version = workspace!.version(dir) }
        // `@/log`, `@/gmt` and versions folders are walks of the first-parent history: made
        // once per tip, not once per `readdir` request (a long listing comes in many). The
        // other index folders list refs, which move without the tip: cheap, and made afresh.
        let walksHistory: Bool
        switch node {
        case .indexLog, .indexGMT, .versions: walksHistory = true
        default: walksHistory = false
        }
        if walksHistory, let tip = shownCommit {
            version = tip.commitID.prefix64
        }
        if let cached = handles.listing(inode: inode, version: version) { return (node, cached) }
        var entries = try children(of: node)
        entries.insert((Array("..".utf8), node), at: 0)
        entries.insert((Array(".".utf8), node), at: 0)
        if !node.isVirtualFolder || walksHistory { handles.keep(listing: entries, inode: inode, version: version) }
        return (node, entries)
    }

    func readlink(_ id: UInt64) throws -> [UInt8] {
        let node = try node(id)
        if case .work(let work) = node { return try workspace!.readLink(work) }
        guard let (snap, path) = try view(node) else { throw Errno.invalid }
        let entry = try snap.entry(at: path)
        guard entry.mode == .symlink else { throw Errno.invalid }
        return try store.blob(entry.id)
    }

    /// Lists a directory once per open, so `readdir` offsets stay valid while it changes.
    func opendir(_ id: UInt64) throws -> (handle: UInt64, keepCache: Bool) {
        let node = try node(id)
        var entries = try children(of: node)
        // `.` and `..` first, as every Linux filesystem lists them.
        entries.insert((Array("..".utf8), node), at: 0)
        entries.insert((Array(".".utf8), node), at: 0)
        return (handles.add(.directory(node: node, entries: entries)), node.isImmutable)
    }

    func statfs() -> statvfs {
        var info = statvfs()
        if statvfs(store.path, &info) != 0 { info = statvfs() }
        info.f_namemax = UInt(Self.nameMax)
        return info
    }
}
