import Foundation
import SnapshotFS

/// `@/gmt`: the branch's commits under Samba's snapshot names (`@GMT-...`), for "Previous
/// Versions" (see `VersionsIndex.gmtEntries`).
struct GMTFolder: VirtualFolder {
    static let route = Array("@/gmt/".utf8)

    func lookup(_ name: [UInt8], in fs: Filesystem) throws -> Node {
        guard let tip = fs.shownCommit, let found = try fs.versions.gmtEntries(from: tip).first(where: { $0.name == name }) else {
            throw Errno.noEntry
        }
        return try HistoryNode.root(found.commit, route: Self.route + name, in: fs)
    }

    func children(in fs: Filesystem) throws -> [(name: [UInt8], node: Node)] {
        guard let tip = fs.shownCommit else { return [] }
        return try fs.versions.gmtEntries(from: tip).map { ($0.name, try HistoryNode.root($0.commit, route: Self.route + $0.name, in: fs)) }
    }

    func listingVersion(in fs: Filesystem) -> UInt64? { fs.shownCommit?.commitID.prefix64 }
}
