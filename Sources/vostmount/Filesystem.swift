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
    /// `--no-open`: a read-write mount asks the kernel for no opens (see `UnopenedWriters`).
    var noOpen = false
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
    let unopenedWriters = UnopenedWriters()  // files written with no open (--no-open)
    /// The device channel that lets the kernel read LFS objects itself, and which open
    /// files it does (see `BackingFiles`).
    let passthrough: PassthroughChannel
    let backingFiles: BackingFiles
    let logger: Logger
    /// Told to the kernel in order, off the request threads (see `forward`).
    let invalidations = DispatchQueue(label: "vostmount.invalidate")
    /// Stores closed large files ahead of the commit (see `storeClosedFiles`), and whether a
    /// run is asked for and not started yet.
    let storing = DispatchQueue(label: "vostmount.store", qos: .utility)
    let storeRequested = Atomic<Bool>(false)
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
            let snapshot = try store.snapshot(of: fixed)
            inodes = InodeTable(root: Node(HistoryNode(commit: fixed, path: .root, route: [],
                                                       entry: TreeEntry(name: [], mode: .directory, id: snapshot.treeID),
                                                       time: snapshot.time)))
        } else {
            if !config.readOnly, let branch = config.branch {
                Self.takeInKeptBatches(store: store, branch: branch, logger: logger)
            }
            let workspace = try Workspace(store: store, branch: config.branch ?? "main", staging: config.staging, lfs: config.lfs,
                                          lfsThreshold: config.lfsThreshold)
            if !config.readOnly { try workspace.prepareStaging() }
            self.workspace = workspace
            inodes = InodeTable(root: Node(BranchNode(workspace.root)))
        }
    }

    /// The commit the branch view stands on.
    var tip: Snapshot? { workspace?.base }

    /// The commit the mount shows: the branch's tip, or a `--ref` mount's fixed commit.
    var shownCommit: Snapshot? { tip ?? config.fixed.flatMap { try? store.snapshot(of: $0) } }

    // MARK: Nodes (each kind answers for itself: see Namespace/MountNode.swift)

    func node(_ id: UInt64) throws -> Node {
        guard let node = inodes.node(id) else { throw Errno.noEntry }
        return node
    }

    func attrTimeout(_ node: Node) -> Double { node.kind.attributeTimeout }

    /// How long the kernel may trust that a name in `parent` is `child`. Names whose meaning
    /// moves with the tip (`@~1`, `@main`, the index folders' entries) are short.
    func entryTimeout(parent: Node, child: Node) -> Double { parent.kind.entryTimeout(of: child) }

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
        return try parent.kind.lookup(name, in: self)
    }

    /// A directory's entries, each with its node, for `readdir`/`readdirplus`.
    func children(of node: Node) throws -> [(name: [UInt8], node: Node)] { try node.kind.children(in: self) }

    // MARK: Attributes

    func attributes(_ node: Node, id: UInt64) throws -> stat { try node.kind.attributes(id: id, in: self) }

    /// A file's size as readers see it: an LFS pointer's object size (see `MountConfig.lfs`).
    func fileSize(_ blob: ObjectID) throws -> Int {
        try config.lfs ? store.contentSize(blob) : store.blobSize(blob)
    }

    /// `times` are a branch node's own (see `FileTimes`); what is unset shows `time`, the
    /// commit's.
    func makeStat(id: UInt64, mode: mode_t, size: Int, nlink: Int, time: Date, times: FileTimes = FileTimes()) -> stat {
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

    /// What a read answers: bytes, or a range of a file for the reply to splice, with the
    /// reader that keeps its descriptor open until then.
    enum ReadResult {
        case bytes([UInt8])
        case file(fd: Int32, offset: Int, count: Int, owner: BlobReader)
    }

    /// Reads through an open handle, or, when the kernel skips opens, through the inode's
    /// node (whose reader is kept in a small cache so a file read in many pieces is inflated
    /// once).
    func read(handle: UInt64, inode: UInt64, offset: Int, size: Int) throws -> ReadResult {
        guard handle != 0 else { return try node(inode).kind.read(inode: inode, offset: offset, size: size, in: self) }
        switch handles.get(handle) {
        case .file(let reader)?: return try Self.result(reader, offset, size)
        case .bytes(let bytes)?: return .bytes(Array(bytes.dropFirst(offset).prefix(size)))
        case .work(let file)?: return try read(file.node, offset: offset, size: size) { try file.reader(for: $0, store: store, lfs: config.lfs) }
        default: throw Errno.badHandle
        }
    }

    /// A branch file's bytes: pending ones from the workspace, committed ones from `reader`.
    func read(_ node: WorkNode, offset: Int, size: Int, reader: (ObjectID) throws -> BlobReader) throws -> ReadResult {
        switch try workspace!.read(node, at: offset, count: size) {
        case .bytes(let bytes): return .bytes(bytes)
        case .blob(let id): return try Self.result(try reader(id), offset, size)
        }
    }

    static func result(_ reader: BlobReader, _ offset: Int, _ size: Int) throws -> ReadResult {
        switch try reader.slice(at: offset, count: size) {
        case .bytes(let bytes): return .bytes(bytes)
        case .file(let fd, let start, let count): return .file(fd: fd, offset: start, count: count, owner: reader)
        }
    }

    func cachedReader(inode: UInt64, blob: ObjectID) throws -> BlobReader {
        if let reader = handles.reader(inode: inode), reader.id == blob { return reader }
        // With no opens, the first read waits for a missing LFS object, as an open would.
        try awaitLFSObject(blob)
        let reader = try BlobReader(store: store, id: blob, shared: true, lfs: config.lfs)
        handles.keep(reader, inode: inode)
        return reader
    }

    /// A directory's entries for `readdir`: from its open handle, or, when the kernel skips
    /// opendir, kept per inode while the node's listing version stays (one listing comes in
    /// several requests), else listed afresh.
    func listing(inode: UInt64, handle: UInt64) throws -> (Node, [(name: [UInt8], node: Node)]) {
        if handle != 0 {
            guard case .directory(let node, let entries)? = handles.get(handle) else { throw Errno.badHandle }
            return (node, entries)
        }
        let node = try node(inode)
        let version = node.kind.listingVersion(in: self)
        if let version, let cached = handles.listing(inode: inode, version: version) { return (node, cached) }
        let entries = try dotted(node)
        if let version { handles.keep(listing: entries, inode: inode, version: version) }
        return (node, entries)
    }

    /// The entries with `.` and `..` first, as every Linux filesystem lists them.
    private func dotted(_ node: Node) throws -> [(name: [UInt8], node: Node)] {
        let listed = [(Array(".".utf8), node), (Array("..".utf8), node)] + (try children(of: node))
        readAhead(listing: node)
        return listed
    }

    func readlink(_ id: UInt64) throws -> [UInt8] { try node(id).kind.readlink(in: self) }

    /// Lists a directory once per open, so `readdir` offsets stay valid while it changes.
    func opendir(_ id: UInt64) throws -> (handle: UInt64, keepCache: Bool) {
        let node = try node(id)
        return (handles.add(.directory(node: node, entries: try dotted(node))), node.kind.isImmutable)
    }

    func statfs() -> statvfs {
        var info = statvfs()
        if statvfs(store.path, &info) != 0 { info = statvfs() }
        info.f_namemax = UInt(Self.nameMax)
        return info
    }
}
