import Foundation
import SnapshotFS

/// One kind of node of the mount: a folder or file of the branch, of a commit, of the `@`
/// index. Each kind is a small value in a file of its own in this folder, and answers what
/// it takes; the defaults answer as Linux does for what it does not (a folder has no
/// content to read, history takes no writes). `Filesystem` numbers nodes, keeps handles and
/// dispatches here, and never asks which kind a node is.
///
/// A new `@` folder is a new file here plus one line in `IndexFolder.entries`.
protocol MountNode: Hashable, Sendable {
    /// The node `name` names inside this one (the length is checked before).
    func lookup(_ name: [UInt8], in fs: Filesystem) throws -> Node
    /// The entries, without `.` and `..`.
    func children(in fs: Filesystem) throws -> [(name: [UInt8], node: Node)]
    func attributes(id: UInt64, in fs: Filesystem) throws -> stat
    /// The file type bits a plain `readdir` gives (`S_IFDIR`...), without reading attributes.
    func fileType(in fs: Filesystem) -> mode_t
    /// Seconds the kernel may keep the attributes.
    var attributeTimeout: Double { get }
    /// Seconds the kernel may trust that a name in this folder is `child`.
    func entryTimeout(of child: Node) -> Double
    /// The version of the listing, for keeping it between the `readdir`s of one listing when
    /// the kernel skips opendir: nil for one made afresh every time.
    func listingVersion(in fs: Filesystem) -> UInt64?
    /// Whether the kernel may keep the pages of a listing or file of it across opens.
    var isImmutable: Bool { get }
    func open(id: UInt64, flags: Int32, in fs: Filesystem) throws -> Filesystem.Opened
    /// A read with no handle (the kernel skipped the open).
    func read(inode: UInt64, offset: Int, size: Int, in fs: Filesystem) throws -> Filesystem.ReadResult
    func readlink(in fs: Filesystem) throws -> [UInt8]
    /// `mkdir` of `name` in this folder.
    func makeDirectory(_ name: [UInt8], in fs: Filesystem) throws -> Node
    /// `unlink` (or `rmdir`, with `directory`) of `name` in this folder.
    func remove(_ name: [UInt8], directory: Bool, in fs: Filesystem) throws
    /// The commit whose notes are this node's extended attributes (`--notes`), if any.
    func noteTarget(in fs: Filesystem) -> ObjectID?
    /// An inode number the node has by nature (see `InodeTable`).
    var intrinsicNumber: UInt64? { get }
    /// What a folder's listing shows content of, for reading ahead (`Filesystem.readAhead`):
    /// in a partial clone its files' blobs, fetched in one request; else its subfolders.
    func listedContent(in fs: Filesystem) -> ListedContent?
}

extension MountNode {
    func lookup(_ name: [UInt8], in fs: Filesystem) throws -> Node { throw Errno.notDirectory }
    func children(in fs: Filesystem) throws -> [(name: [UInt8], node: Node)] { throw Errno.notDirectory }
    func fileType(in fs: Filesystem) -> mode_t { S_IFDIR }
    var attributeTimeout: Double { Filesystem.liveTimeout }
    func entryTimeout(of child: Node) -> Double { Filesystem.liveTimeout }
    func listingVersion(in fs: Filesystem) -> UInt64? { nil }
    var isImmutable: Bool { false }
    func open(id: UInt64, flags: Int32, in fs: Filesystem) throws -> Filesystem.Opened {
        throw Filesystem.isWriting(flags) ? Errno.readOnly : Errno.isDirectory
    }
    func read(inode: UInt64, offset: Int, size: Int, in fs: Filesystem) throws -> Filesystem.ReadResult { throw Errno.isDirectory }
    func readlink(in fs: Filesystem) throws -> [UInt8] { throw Errno.invalid }
    func makeDirectory(_ name: [UInt8], in fs: Filesystem) throws -> Node { throw Errno.readOnly }
    func remove(_ name: [UInt8], directory: Bool, in fs: Filesystem) throws { throw Errno.readOnly }
    func noteTarget(in fs: Filesystem) -> ObjectID? { nil }
    var intrinsicNumber: UInt64? { nil }
    func listedContent(in fs: Filesystem) -> ListedContent? { nil }

    /// Equal: of the same kind, and equal as that kind.
    func isEqual(to other: any MountNode) -> Bool {
        guard let other = other as? Self else { return false }
        return self == other
    }
}

/// A node of any kind: the key the inode table numbers (equal nodes get the same number
/// while the kernel remembers them).
struct Node: Hashable, Sendable {
    let kind: any MountNode

    init(_ kind: some MountNode) { self.kind = kind }

    // Without boxing into AnyHashable: the inode table compares and hashes a node per
    // listed entry, and boxing was a quarter of listing `@/log`'s 24,000 entries.
    static func == (a: Node, b: Node) -> Bool { a.kind.isEqual(to: b.kind) }
    func hash(into hasher: inout Hasher) {
        hasher.combine(ObjectIdentifier(type(of: kind)))
        kind.hash(into: &hasher)
    }

    /// The node as a kind of node, if it is one: `node.as(BranchNode.self)?.work`.
    func `as`<Kind: MountNode>(_ type: Kind.Type) -> Kind? { kind as? Kind }
}

/// The content a folder lists: the files of a Git tree, or blobs named one by one.
enum ListedContent {
    case tree(ObjectID)
    case blobs([ObjectID])
}

/// What the index folders share: read-only folders whose content moves with refs.
protocol VirtualFolder: MountNode {}

extension VirtualFolder {
    func attributes(id: UInt64, in fs: Filesystem) throws -> stat {
        fs.makeStat(id: id, mode: S_IFDIR | 0o555, size: 0, nlink: 2, time: fs.tip?.time ?? Date())
    }
}
