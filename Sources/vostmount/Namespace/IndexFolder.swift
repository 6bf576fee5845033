import Foundation
import SnapshotFS

/// `@`: the index folder, with a folder (or file) per way of reaching history.
struct IndexFolder: VirtualFolder {
    /// What `@` holds, by name: the registration of every index folder.
    static let entries: [(name: [UInt8], node: Node)] = [
        (Array("branches".utf8), Node(RefsFolder.branches)),
        (Array("gmt".utf8), Node(GMTFolder())),
        (Array("log".utf8), Node(LogFolder())),
        (Array("status".utf8), Node(StatusNode())),
        (Array("tags".utf8), Node(RefsFolder.tags)),
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

/// `@/tags` and `@/branches`: a folder per tag or branch, its commit's tree (names with `/`
/// written `%2F`). `mkdir` makes one at the tip, after committing what is pending (a tag is
/// pushed with the branch); `rmdir` deletes one (never the mounted branch; on the remote,
/// only a tag this mount pushed).
struct RefsFolder: VirtualFolder {
    let kind: RefCollection.Kind

    static let tags = RefsFolder(kind: .tag)
    static let branches = RefsFolder(kind: .branch)

    private var route: [UInt8] { Array((kind == .tag ? "@/tags/" : "@/branches/").utf8) }

    private func refs(_ fs: Filesystem) -> RefCollection { kind == .tag ? fs.store.tags : fs.store.branches }

    func lookup(_ name: [UInt8], in fs: Filesystem) throws -> Node {
        let commit = try kind == .tag ? fs.namespace.tag(name) : fs.namespace.branchTip(name)
        return try HistoryNode.root(commit, route: route + name, in: fs)
    }

    func children(in fs: Filesystem) throws -> [(name: [UInt8], node: Node)] {
        (kind == .tag ? fs.namespace.tagNames() : fs.namespace.branchNames()).compactMap { name in
            let encoded = Namespace.encode(name)
            guard let node = try? lookup(encoded, in: fs) else { return nil }
            return (encoded, node)
        }
    }

    func makeDirectory(_ name: [UInt8], in fs: Filesystem) throws -> Node {
        let (workspace, ref) = try fs.refChange(name)
        try refs(fs).set(ref, to: workspace.base)
        if kind == .tag { fs.remoteSync?.tagCreated(ref) }
        return try lookup(name, in: fs)
    }

    func remove(_ name: [UInt8], directory: Bool, in fs: Filesystem) throws {
        guard directory, !fs.config.readOnly, let ref = Namespace.decode(name) else { throw Errno.readOnly }
        if kind == .branch, ref == fs.config.branch { throw Errno(code: EBUSY) }
        guard try refs(fs).get(ref) != nil else { throw Errno.noEntry }
        try refs(fs).delete(ref)
        if kind == .tag { fs.remoteSync?.tagDeleted(ref) }
    }
}
