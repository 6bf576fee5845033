import Foundation
import SnapshotFS

/// A partial clone (a URL mount, or `git clone --filter=blob:none`): file contents come from
/// the promisor remote when read (`Store.present`); a folder's come in one request when it is
/// listed.
extension Filesystem {
    /// In a partial clone, the blobs of a folder being listed, in one request: its listing's
    /// sizes need them, and a program listing a folder (`ls -l`, `tar`, `cp -r`, `grep -r`)
    /// reads its files next. A failure costs nothing here: each file then fetches its own
    /// when read, and says why if it cannot.
    func prefetchContent(of node: Node) {
        guard store.isPartialClone, let content = node.kind.listedContent(in: self) else { return }
        do {
            switch content {
            case .tree(let tree): try store.fetchMissingBlobs(inTree: tree)
            case .blobs(let blobs): try store.fetchMissingBlobs(blobs)
            }
        } catch {
            logger.info("could not fetch the files of a folder being listed at once: \(error)")
        }
    }
}
