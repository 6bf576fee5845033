import Foundation
import SnapshotFS

/// `@`: the index folder, with a folder (or file) per way of reaching history.
struct IndexFolder: VirtualFolder {
    /// What `@` holds, by name: the registration of every index folder.
    static let entries: [(name: [UInt8], node: Node)] = [
        (Array("branches".utf8), Node(BranchesFolder())),
        (Array("gmt".utf8), Node(GMTFolder())),
        (Array("log".utf8), Node(LogFolder())),
        (Array("status".utf8), Node(StatusNode())),
        (Array("tags".utf8), Node(TagsFolder())),
        (Array("versions".utf8), Node(VersionsFolder(.root))),
    ]

    /// What lists refs that move without the branch moving (a new tag): the kernel's copy
    /// is dropped at every poll (see `Filesystem.invalidateIndexFolders`). The versions
    /// folders change only with the tip, and are dropped when it moves.
    static let refreshedEachPoll: [Node] = [Node(IndexFolder())] + entries.map(\.node).filter { $0.as(VersionsFolder.self) == nil }

    func lookup(_ name: [UInt8], in fs: Filesystem) throws -> Node {
        guard let found = Self.entries.first(where: { $0.name == name }) else { throw Errno.noEntry }
        return found.node
    }

    func children(in fs: Filesystem) throws -> [(name: [UInt8], node: Node)] { Self.entries }
}

/// `@/tags`: a folder per tag, its commit's tree; `mkdir` tags the tip, `rmdir` untags.
struct TagsFolder: VirtualFolder {
    static let route = Array("@/tags/".utf8)

    func lookup(_ name: [UInt8], in fs: Filesystem) throws -> Node {
        try HistoryNode.root(try fs.namespace.tag(name), route: Self.route + name, in: fs)
    }

    func children(in fs: Filesystem) throws -> [(name: [UInt8], node: Node)] {
        fs.namespace.tagNames().compactMap { name in
            let encoded = Namespace.encode(name)
            guard let node = try? lookup(encoded, in: fs) else { return nil }
            return (encoded, node)
        }
    }

    /// Tags the tip, after committing what is pending; pushed with the branch.
    func makeDirectory(_ name: [UInt8], in fs: Filesystem) throws -> Node {
        let (workspace, ref) = try fs.refChange(name)
        try fs.store.tags.set(ref, to: workspace.base)
        fs.remoteSync?.tagCreated(ref)
        return try lookup(name, in: fs)
    }

    func remove(_ name: [UInt8], directory: Bool, in fs: Filesystem) throws {
        guard directory, !fs.config.readOnly, let ref = Namespace.decode(name) else { throw Errno.readOnly }
        guard try fs.store.tags.get(ref) != nil else { throw Errno.noEntry }
        try fs.store.tags.delete(ref)
        fs.remoteSync?.tagDeleted(ref)
    }
}

/// `@/branches`: a folder per branch, its tip's tree; `mkdir` branches off the tip, `rmdir`
/// deletes a branch (not the mounted one).
struct BranchesFolder: VirtualFolder {
    static let route = Array("@/branches/".utf8)

    func lookup(_ name: [UInt8], in fs: Filesystem) throws -> Node {
        try HistoryNode.root(try fs.namespace.branchTip(name), route: Self.route + name, in: fs)
    }

    func children(in fs: Filesystem) throws -> [(name: [UInt8], node: Node)] {
        fs.namespace.branchNames().compactMap { name in
            let encoded = Namespace.encode(name)
            guard let node = try? lookup(encoded, in: fs) else { return nil }
            return (encoded, node)
        }
    }

    func makeDirectory(_ name: [UInt8], in fs: Filesystem) throws -> Node {
        let (workspace, ref) = try fs.refChange(name)
        try fs.store.branches.set(ref, to: workspace.base)
        return try lookup(name, in: fs)
    }

    func remove(_ name: [UInt8], directory: Bool, in fs: Filesystem) throws {
        guard directory, !fs.config.readOnly, let ref = Namespace.decode(name) else { throw Errno.readOnly }
        guard ref != fs.config.branch else { throw Errno(code: EBUSY) }
        guard try fs.store.branches.get(ref) != nil else { throw Errno.noEntry }
        try fs.store.branches.delete(ref)
    }
}
