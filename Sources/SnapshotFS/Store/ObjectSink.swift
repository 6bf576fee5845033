/// Where a batch puts the objects it creates until it commits.
///
/// Small commits become loose objects, as with `git commit` (a pack per one-file commit
/// would leave thousands of packs); from `packThreshold` objects on they become one pack,
/// which is what makes a 10,000-file batch fast. Large blobs never come here: they are
/// streamed to loose objects as they are written. Not thread-safe: its batch guards it.
final class ObjectSink {
    /// From this many objects on, a flush writes a pack instead of loose objects.
    static let packThreshold = 64
    /// A pack is flushed early past this many deflated bytes, to bound memory.
    static let maxPendingBytes = 64 << 20
    /// Blobs larger than this are written straight away, not kept here.
    static let largeBlob = 1 << 20

    private let store: Store
    private var loose: [(ObjectType, [UInt8])] = []
    private var looseIDs: Set<ObjectID> = []
    private var pack: PackWriter?

    init(store: Store) { self.store = store }

    func add(_ type: ObjectType, _ data: [UInt8]) throws -> ObjectID {
        if type == .blob, data.count > Self.largeBlob { return try store.writeBlob(data) }
        if let pack {
            let id = pack.add(type, data)
            if pack.pendingBytes > Self.maxPendingBytes { try flush() }
            return id
        }
        let id = SHA1.objectID(type: type, data)
        if looseIDs.insert(id).inserted { loose.append((type, data)) }
        if loose.count >= Self.packThreshold {
            let writer = PackWriter()
            for (t, d) in loose { writer.add(t, d) }
            loose = []
            looseIDs = []
            pack = writer
        }
        return id
    }

    /// Makes every object added so far readable through libgit2.
    func flush() throws {
        // The pack is written with no lock held (readers go on; none can see it before the
        // refresh), and libgit2 is told of it under its lock.
        if let pack, pack.count > 0 {
            try pack.flush(objectsDirectory: store.objectsDirectory)
            try store.git { try $0.refresh() }
        }
        for (type, data) in loose { _ = try store.writeLoose(type, data) }
        loose = []
        looseIDs = []
    }
}
