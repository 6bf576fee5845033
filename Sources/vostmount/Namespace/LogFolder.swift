import Foundation
import SnapshotFS

/// `@/log`: a folder per first-parent commit of the shown branch, oldest first
/// (`YYYY-MM-DDTHH:MM:SSZ-<7 hex>`).
struct LogFolder: VirtualFolder {
    static let route = Array("@/log/".utf8)

    func lookup(_ name: [UInt8], in fs: Filesystem) throws -> Node {
        HistoryNode.root(try fs.namespace.logCommit(name, in: fs.shownCommit), route: Self.route + name)
    }

    func children(in fs: Filesystem) throws -> [(name: [UInt8], node: Node)] {
        guard let start = fs.shownCommit else { return [] }
        let entries = try fs.namespace.logEntries(from: start)
        fs.logger.debug("listed @/log: walked \(entries.count) commits")
        return entries.map { ($0.name, HistoryNode.root($0.commit, route: Self.route + $0.name)) }
    }

    /// A walk of the history: made once per tip, not once per `readdir` of a long listing.
    func listingVersion(in fs: Filesystem) -> UInt64? { fs.shownCommit?.commitID.prefix64 }
}
