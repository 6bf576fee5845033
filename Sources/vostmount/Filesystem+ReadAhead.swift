import Foundation
import SnapshotFS

/// What a folder's listing brings ahead of the requests that follow it.
extension Filesystem {
    /// In a partial clone (a URL mount, or `git clone --filter=blob:none`), the blobs of a
    /// folder being listed, in one request: its listing's sizes need them, and a program
    /// listing a folder (`ls -l`, `tar`, `cp -r`, `grep -r`) reads its files next. A failure
    /// costs nothing here: each file then fetches its own when read, and says why if it
    /// cannot. In a complete repository, its subfolders' listings, read on another thread
    /// (`Store.warmSubfolders`): a walk (`find`, `ls -lR`) lists them next.
    func readAhead(listing node: Node) {
        guard let content = node.kind.listedContent(in: self) else { return }
        guard store.isPartialClone else {
            if case .tree(let tree) = content { store.warmSubfolders(of: tree) }
            return
        }
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
