import Foundation
import Synchronization

/// One file, symlink or directory of a `Workspace`: a live object, so that whoever holds it
/// (an open file, the mount's inode table) keeps the same thing across renames, and an
/// unlinked file still open keeps its data. Equal only to itself.
///
/// All mutable state is guarded by the owning workspace's lock.
public final class WorkNode: Hashable, @unchecked Sendable {
    // @unchecked: every field is read and written under `Workspace.lock`.
    /// Where the content is. Committed content is named by object; pending content is in
    /// memory (small files, symlink targets) or in a staging file (anything that grows).
    enum Content {
        case blob(ObjectID)
        case bytes([UInt8])
        case staged(StagedFile)
        /// A directory not looked into yet: the committed tree.
        case tree(ObjectID)
        /// A directory looked into. `committed` is its tree while nothing below it changed.
        case directory(entries: [[UInt8]: WorkNode], committed: ObjectID?)
    }

    var mode: FileMode
    var content: Content
    /// The directory holding this node; nil once it is removed (an open file lives on).
    weak var parent: WorkNode?
    /// Times set by a change or `utimensat`; nil ones mean the commit's time. Not stored in
    /// Git (trees have no times), so they last while the node does.
    var times = FileTimes()
    /// Raised on every change of a directory's names, so cached listings can tell.
    var version: UInt64 = 0
    /// Open descriptors that may write: a node being written is never swapped for another
    /// writer's version under it.
    var writers = 0
    /// A write failed (a full disk): the data is incomplete, so commits keep what the file
    /// was before it was staged (`original`, nil for a new file) until it is rewritten.
    var failedWrite = false
    var original: ObjectID?
    /// Another writer's commit, taken in, replaced or removed this node (see
    /// `Workspace.retire`). The kernel learns of it asynchronously, so it may still open or
    /// change the old inode for a moment: every change to a superseded node is refused with
    /// `SnapshotError.superseded` (ESTALE, which makes the kernel look the name up again),
    /// never applied to a node no commit will see.
    var superseded = false

    /// Fixed at creation, so they can be read without the lock.
    public let isDirectory: Bool
    /// A submodule entry, shown as an empty read-only directory and kept as it is.
    public let isGitlink: Bool
    /// Unique among the nodes of this process and never reused: a mount numbers its inodes
    /// with it, so listing a directory needs no table entry per name (see `InodeTable`).
    public let serial: UInt64

    private static let serials = Atomic<UInt64>(1)

    init(mode: FileMode, content: Content, parent: WorkNode?) {
        serial = Self.serials.wrappingAdd(1, ordering: .relaxed).oldValue
        isDirectory = mode == .directory
        isGitlink = mode == .gitlink
        self.mode = mode
        self.content = content
        self.parent = parent
    }

    static func committed(_ entry: TreeEntry, parent: WorkNode?) -> WorkNode {
        WorkNode(mode: entry.mode == .gitlink ? .gitlink : entry.mode,
                 content: entry.mode == .directory ? .tree(entry.id) : .blob(entry.id), parent: parent)
    }

    /// The object this node is committed as, if nothing about it is pending.
    var committedID: ObjectID? {
        switch content {
        case .blob(let id), .tree(let id): return id
        case .directory(_, let committed): return committed
        case .staged(let file): return file.blob
        case .bytes: return nil
        }
    }

    /// Identity: a node is only ever equal to itself.
    public static func == (a: WorkNode, b: WorkNode) -> Bool { a === b }
    /// Hashes the identity.
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}

/// What a workspace says about a node, for `stat`.
public struct WorkInfo: Sendable {
    /// What the node is now (pending changes included).
    public var mode: FileMode
    /// Bytes of a file or symlink target, pending writes included; 0 for directories.
    public var size: Int
    /// Set when the node changed in this mount; nil ones mean "the time of the commit shown".
    public var times: FileTimes
    /// Subdirectories, for a directory's link count.
    public var subdirectories: Int
}

/// Where to read a node's bytes: pending bytes come back at once; a committed blob is named
/// so the caller can stream it with a `BlobReader` outside the workspace's lock.
public enum ReadSource: Sendable {
    case bytes([UInt8])
    case blob(ObjectID)
}
