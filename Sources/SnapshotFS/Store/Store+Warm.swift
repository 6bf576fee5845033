import Foundation

/// Listings read ahead: a program walking a tree (`find`, `ls -lR`, `du`) lists a folder,
/// then each of its subfolders, one at a time, and each listing waits for its sizes (one
/// object header per file). While the kernel takes in one folder's entries, the subfolders
/// of the folder just listed are parsed and their files' sizes read on `warmQueue`, so that
/// their own listings find everything cached.
///
/// Thread-safe: `warmPending` (how many trees wait) is an atomic; the work runs on one serial
/// queue and takes lock 5 once per subfolder, for all of its sizes.
extension Store {
    /// At most this many subfolders wait to be read ahead; past it, new ones are skipped.
    static let warmBacklog = 256

    /// Reads ahead the subfolders of `tree`, on another thread. Nothing for a partial clone,
    /// where a size or a tree may not be here and reading it would fetch it.
    public func warmSubfolders(of tree: ObjectID) {
        guard promised == nil, let listed = trees.get(tree) else { return }
        let subfolders = listed.entries.filter { $0.mode == .directory && trees.get($0.id) == nil }.map(\.id)
        guard !subfolders.isEmpty else { return }
        guard warmPending.add(subfolders.count, ordering: .relaxed).newValue <= Self.warmBacklog else {
            warmPending.subtract(subfolders.count, ordering: .relaxed)
            return
        }
        warmQueue.async { [self] in
            for id in subfolders {
                defer { warmPending.subtract(1, ordering: .relaxed) }
                // A folder that cannot be read here is read, and its error reported, when listed.
                guard let folder = try? self.tree(id) else { continue }
                let files = folder.entries.filter { $0.mode.isFile && sizes.get($0.id) == nil }.map(\.id)
                let read: [(ObjectID, Int)] = git { repo in
                    files.compactMap { id in (try? repo.header(id)).map { (id, $0.size) } }  // the same: read when listed
                }
                for (id, size) in read { sizes.put(id, size) }
            }
        }
    }
}
