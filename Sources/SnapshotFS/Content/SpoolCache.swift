import Foundation

/// The spools of large blobs, shared by all readers and kept while they fit in `capacity`
/// bytes of scratch disk (least recently used go first; a spool still being read lives on
/// until its last reader is done).
final class SpoolCache: @unchecked Sendable {
    // @unchecked: everything is under `lock`.
    private let lock = NSLock()
    private var spools: [ObjectID: (spool: Spool, used: UInt64)] = [:]
    private var clock: UInt64 = 0
    private var total = 0
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    func has(_ id: ObjectID) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return spools[id] != nil
    }

    /// Forgets `spool` if it is still the one kept for its blob (readers holding it finish
    /// with it).
    func drop(_ spool: Spool) {
        lock.lock()
        defer { lock.unlock() }
        if let kept = spools[spool.id], kept.spool === spool {
            spools.removeValue(forKey: spool.id)
            total -= spool.size
        }
    }

    /// The spool of `id`, made on first use (loose objects and pack entries are streamed;
    /// deltified ones are rebuilt on disk first); nil when the blob cannot be streamed, in
    /// which case the caller reads it whole.
    func spool(for id: ObjectID, size: Int, store: Store) throws -> Spool? {
        lock.lock()
        clock += 1
        if let hit = spools[id] {
            spools[id]!.used = clock
            lock.unlock()
            return hit.spool
        }
        lock.unlock()
        // Opening may take long (a deltified blob is rebuilt on disk first): not under the
        // lock, which every other reader of a large blob needs.
        let stream: BlobStream
        if let loose = try LooseStream(id: id, objectsDirectory: store.objectsDirectory) {
            stream = loose
        } else if let packed = try PackStream.open(id, store: store) {
            stream = packed
        } else if let packed = store.git({ $0.openReadStream(id) }) {
            stream = packed
        } else {
            return nil
        }
        let spool = try Spool(id: id, size: size, stream: stream, directory: store.scratchDirectory)
        lock.lock()
        defer { lock.unlock() }
        if let raced = spools[id] {
            // Another reader made one meanwhile: theirs serves both.
            spools[id]!.used = clock
            return raced.spool
        }
        while total + size > capacity, let oldest = spools.min(by: { $0.value.used < $1.value.used }) {
            spools.removeValue(forKey: oldest.key)
            total -= oldest.value.spool.size
        }
        spools[id] = (spool, clock)
        total += size
        return spool
    }
}
