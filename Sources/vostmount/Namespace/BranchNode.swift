import Foundation
import SnapshotFS

/// A file, symlink or directory of the mounted branch: a live node of the workspace. It
/// keeps its identity across renames, and when another writer changes a file the path gets
/// a new node, so a descriptor opened before keeps reading what it opened (the page cache is
/// per inode) while new opens see the new content. The writes themselves are in
/// `Filesystem+Write`.
struct BranchNode: MountNode {
    let work: WorkNode

    init(_ work: WorkNode) { self.work = work }

    func lookup(_ name: [UInt8], in fs: Filesystem) throws -> Node {
        guard let workspace = fs.workspace else { throw Errno.noEntry }
        guard work.isDirectory else { throw Errno.notDirectory }
        if let real = try workspace.child(work, name) { return Node(BranchNode(real)) }
        // History is reached from the root by name, never listed.
        if fs.isMountRoot(work), name.first == UInt8(ascii: "@") { return try HistoryNode.atFolder(name, in: fs) }
        throw Errno.noEntry
    }

    func children(in fs: Filesystem) throws -> [(name: [UInt8], node: Node)] {
        guard let workspace = fs.workspace else { return [] }
        if work.isGitlink { return [] }
        guard work.isDirectory else { throw Errno.notDirectory }
        return try workspace.children(work).map { ($0.name, Node(BranchNode($0.node))) }
    }

    func listedContent(in fs: Filesystem) -> ListedContent? {
        guard work.isDirectory, let tree = fs.workspace?.committedTree(work) else { return nil }
        return .tree(tree)
    }

    func attributes(id: UInt64, in fs: Filesystem) throws -> stat {
        let workspace = fs.workspace!
        let info = try workspace.info(work)
        let time = workspace.base.time
        let times = info.times
        // DESIGN: files 0644/0755 everywhere; directories 0755, 0555 where nothing can change.
        switch info.mode {
        case .directory:
            return fs.makeStat(id: id, mode: S_IFDIR | (fs.config.readOnly ? 0o555 : 0o755), size: 0, nlink: 2 + info.subdirectories,
                               time: time, times: times)
        case .gitlink: return fs.makeStat(id: id, mode: S_IFDIR | 0o555, size: 0, nlink: 2, time: time, times: times)
        case .symlink: return fs.makeStat(id: id, mode: S_IFLNK | 0o777, size: info.size, nlink: 1, time: time, times: times)
        case .executable: return fs.makeStat(id: id, mode: S_IFREG | 0o755, size: info.size, nlink: 1, time: time, times: times)
        case .file: return fs.makeStat(id: id, mode: S_IFREG | 0o644, size: info.size, nlink: 1, time: time, times: times)
        }
    }

    func fileType(in fs: Filesystem) -> mode_t {
        guard let mode = fs.workspace?.mode(work), !mode.isDirectory else { return S_IFDIR }
        return mode == .symlink ? S_IFLNK : S_IFREG
    }

    /// The branch's nodes are invalidated exactly when another writer changes them.
    var attributeTimeout: Double { Filesystem.immutableTimeout }

    func entryTimeout(of child: Node) -> Double {
        child.as(BranchNode.self) != nil ? Filesystem.immutableTimeout : Filesystem.liveTimeout
    }

    func listingVersion(in fs: Filesystem) -> UInt64? { fs.workspace!.version(work) }

    func open(id: UInt64, flags: Int32, in fs: Filesystem) throws -> Filesystem.Opened {
        try fs.openBranchFile(work, id: id, flags: flags)
    }

    func read(inode: UInt64, offset: Int, size: Int, in fs: Filesystem) throws -> Filesystem.ReadResult {
        try fs.read(work, offset: offset, size: size) { try fs.cachedReader(inode: inode, blob: $0) }
    }

    func readlink(in fs: Filesystem) throws -> [UInt8] { try fs.workspace!.readLink(work) }

    func makeDirectory(_ name: [UInt8], in fs: Filesystem) throws -> Node {
        let dir = try fs.writableDirectory(Node(self))
        try fs.checkNewName(dir, name)
        return Node(BranchNode(try fs.workspace!.makeDirectory(in: dir, name)))
    }

    func remove(_ name: [UInt8], directory: Bool, in fs: Filesystem) throws {
        let dir = try fs.writableDirectory(Node(self))
        if fs.isMountRoot(dir), name.first == UInt8(ascii: "@"), try fs.workspace!.child(dir, name) == nil {
            throw Errno.readOnly  // a history folder
        }
        try fs.workspace!.remove(in: dir, name, directory: directory)
    }

    /// Numbered by its serial (even numbers), so a plain `readdir` can name it unrecorded.
    var intrinsicNumber: UInt64? { work.serial << 1 }
}
