import Foundation
import SnapshotFS

/// `@/versions/<path>`: a folder of the shown tree's shape, down to a file, whose folder
/// holds each version of it (see `VersionsIndex`); `@/versions` itself is the root's.
struct VersionsFolder: VirtualFolder {
    let path: RepoPath

    init(_ path: RepoPath) { self.path = path }

    static let route = Array("@/versions/".utf8)

    func lookup(_ name: [UInt8], in fs: Filesystem) throws -> Node {
        guard let tip = fs.shownCommit else { throw Errno.noEntry }
        if try fs.versions.directoryNames(path, in: tip) == nil {
            guard let found = try fs.versions.versions(of: path, from: tip).first(where: { $0.name == name }) else { throw Errno.noEntry }
            return version(found, in: fs)
        }
        // A name in the shown commit has a version there; only a name gone from it costs a
        // walk of the history to know whether it ever had one.
        let child = try childPath(name)
        guard try tip.entryIfPresent(at: child) != nil || !fs.versions.versions(of: child, from: tip).isEmpty else {
            throw Errno.noEntry
        }
        return Node(VersionsFolder(child))
    }

    func children(in fs: Filesystem) throws -> [(name: [UInt8], node: Node)] {
        guard let tip = fs.shownCommit else { return [] }
        if let names = try fs.versions.directoryNames(path, in: tip) {
            return try names.map { ($0, Node(VersionsFolder(try childPath($0)))) }
        }
        return try fs.versions.versions(of: path, from: tip).map { ($0.name, version($0, in: fs)) }
    }

    /// A version's entry: that path in that commit, under a route of its own (the same
    /// commit's file seen from `@/log` is another inode).
    private func version(_ found: VersionsIndex.Version, in fs: Filesystem) -> Node {
        let version = found.version
        return Node(HistoryNode(commit: version.commitID, path: path, route: Self.route + path.bytes + [0x2F] + found.name,
                                entry: version.entry, time: version.time))
    }

    private func childPath(_ name: [UInt8]) throws -> RepoPath {
        do { return try path.appending(name) } catch { throw Errno.noEntry }
    }

    /// A file's versions, whose sizes the listing shows: fetched at once in a partial clone
    /// (nothing to read ahead elsewhere, and finding them is a walk).
    func listedContent(in fs: Filesystem) -> ListedContent? {
        guard fs.store.isPartialClone, let tip = fs.shownCommit, (try? fs.versions.directoryNames(path, in: tip)) == nil,
              let found = try? fs.versions.versions(of: path, from: tip) else { return nil }  // the listing says why
        return .blobs(found.map(\.version.entry).filter { $0.mode != .directory && $0.mode != .gitlink }.map(\.id))
    }

    func listingVersion(in fs: Filesystem) -> UInt64? { fs.shownCommit?.commitID.prefix64 }
}
