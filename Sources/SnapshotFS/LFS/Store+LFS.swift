import Crypto
import Foundation

extension Store {
    /// The repository's LFS store: `lfs/objects` in the Git directory (a bare repository's
    /// own folder, or `.git` of a work tree), as `git lfs` lays it out.
    public var lfsObjectsDirectory: String { path + "/lfs/objects" }

    /// Where the object of `pointer` is, or would be, in the local LFS store.
    public func lfsPath(_ pointer: LFSPointer) -> String { "\(path)/\(lfsFolder(pointer))/\(pointer.oid)" }

    /// The object's folder relative to the repository, `lfs/objects/aa/bb`: always opened
    /// beneath the repository with no symlink on the way (see `Beneath`).
    func lfsFolder(_ pointer: LFSPointer) -> String {
        "lfs/objects/\(pointer.oid.prefix(2))/\(pointer.oid.dropFirst(2).prefix(2))"
    }

    /// Whether this repository uses Git LFS: it has an LFS store, or `noteLFSInUse` was
    /// called (a tree whose `.gitattributes` names `filter=lfs`). Until then no blob is read
    /// as a pointer, so a repository that never used LFS pays nothing for it.
    /// A "no" is trusted for a second: `stat` of every file asks, and the store appears only
    /// when `git lfs fetch` (or a write here, which says so at once) makes it.
    public var usesLFS: Bool {
        if lfsInUse.load(ordering: .relaxed) { return true }
        let now = DispatchTime.now().uptimeNanoseconds
        let last = lfsCheckedAt.load(ordering: .relaxed)
        if last != 0, now &- last < 1_000_000_000 { return false }
        lfsCheckedAt.store(now, ordering: .relaxed)
        guard access(lfsObjectsDirectory, F_OK) == 0 else { return false }
        lfsInUse.store(true, ordering: .relaxed)
        return true
    }

    public func noteLFSInUse() { lfsInUse.store(true, ordering: .relaxed) }

    /// Turns LFS reading on when `tree` has a `.gitattributes` naming `filter=lfs`: called
    /// for every tree as it is first read, so attributes count from the moment any view
    /// (the branch after a fetch, a commit in history, a merge) reaches their directory, as
    /// they would for a checkout; a directory is always read before the files in it. Costs
    /// one lookup per tree until the answer is yes. An attributes file is someone else's
    /// input: one larger than `maxAttributesSize` is not read.
    func noteLFSAttributes(of tree: Tree) {
        guard !lfsInUse.load(ordering: .relaxed), let entry = tree[Self.attributesName], entry.mode.isFile else { return }
        let text: [UInt8]
        do {
            guard try blobSize(entry.id) <= Self.maxAttributesSize else { return }
            text = try blob(entry.id)
        } catch {
            // Unreadable now (a damaged store, a partial clone offline), and this tree is not
            // read again: whether it names LFS cannot be told, so it is taken as naming it. A
            // pointer then reads as its object or fails with EIO, never as its own text posing
            // as the file's content (the one cost: pointer-sized blobs are read to tell).
            noteLFSInUse()
            return
        }
        if LFSRules().adding(text, base: .root).namesLFS { noteLFSInUse() }
    }

    static let attributesName = Array(".gitattributes".utf8)
    static let maxAttributesSize = 1 << 20

    /// The LFS pointer a blob holds, if it is one (and the repository uses LFS). Only blobs
    /// of a pointer's size are read; the answer is kept per blob (blobs never change).
    public func lfsPointer(_ id: ObjectID) throws -> LFSPointer? {
        guard usesLFS else { return nil }
        if let known = lfsPointers.get(id) { return known.pointer }
        var pointer: LFSPointer?
        if (LFSPointer.minLength...LFSPointer.maxLength).contains(try blobSize(id)) { pointer = LFSPointer(parsing: try blob(id)) }
        lfsPointers.put(id, KnownPointer(pointer: pointer))
        return pointer
    }

    /// The size a reader of the blob's content sees: an LFS object's size for a pointer,
    /// else the blob's own.
    public func contentSize(_ id: ObjectID) throws -> Int {
        try lfsPointer(id)?.size ?? blobSize(id)
    }
}

/// A cache entry: "not a pointer" is an answer worth keeping too.
struct KnownPointer: Sendable {
    let pointer: LFSPointer?

    /// Bytes held beyond the cache slot: the oid's text.
    var memoryCost: Int { pointer == nil ? 0 : 96 }
}

extension Store {
    /// Stores the `size` bytes of `fd` (from offset 0) as an LFS object, in one pass of 1 MiB
    /// pieces: SHA-256 on one thread while the other copies the piece out (with `O_DIRECT`,
    /// see `DirectOutput`) to a temp file in `lfs/tmp`, renamed to its name once known, mode
    /// 0644 in 0755 folders as `git lfs` makes them. Memory stays at a few MiB.
    public func writeLFSObject(fromDescriptor fd: Int32, size: Int) throws -> LFSPointer {
        try writeLFSObject(size: size) { buffer, offset, count in
            try Syscalls.readAll(fd, into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count]), at: offset, "the file")
        }
    }

    /// The same for content in memory.
    public func writeLFSObject(_ bytes: [UInt8]) throws -> LFSPointer {
        try writeLFSObject(size: bytes.count) { buffer, offset, count in
            bytes.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + offset, byteCount: count) }
        }
    }

    private func writeLFSObject(size: Int, fill: (UnsafeMutableRawBufferPointer, Int, Int) throws -> Void) throws -> LFSPointer {
        // The store's folders are made beneath the repository, never through a symlink a
        // repository's author left there (which would store objects outside it): `ObjectFile`
        // reaches `lfs/tmp` and the object's folder through `Beneath`.
        noteLFSInUse()
        let file = try ObjectFile(.beneath(root: path), in: "lfs/tmp", prefix: "vostmount-")
        var stored = false
        defer { if !stored { file.discard() } }
        let output = try DirectOutput(fd: file.fd)
        defer { output.settle() }  // before the close above: no write may outlive `out`
        var hash = SHA256()
        let chunk = 1 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 16)
        defer { buffer.deallocate() }
        var offset = 0
        while offset < size {
            let count = min(chunk, size - offset)
            try fill(buffer, offset, count)
            let piece = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
            try Overlap.run({ hash.update(bufferPointer: piece) }, alongside: {
                var done = 0
                while done < count {
                    let room = output.room
                    let n = min(room.count, count - done)
                    room.baseAddress!.copyMemory(from: piece.baseAddress! + done, byteCount: n)
                    try output.filled(n)
                    done += n
                }
            })
            offset += count
        }
        try output.finish()
        guard let pointer = LFSPointer(oid: hash.finalize().map { String(format: "%02x", $0) }.joined(), size: size) else {
            throw SnapshotError.io(errno: EIO, "bad SHA-256")
        }
        stored = true  // `store` closes it, and removes it if it fails
        try file.store(as: pointer.oid, in: lfsFolder(pointer), mode: 0o644, what: "LFS object \(pointer.oid)", durable: true)
        return pointer
    }
}
