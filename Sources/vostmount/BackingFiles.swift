import Foundation
import SnapshotFS

/// How each open file is read: the ordinary way (requests to us, the mount's page cache), or
/// by the kernel straight from a backing file (FUSE passthrough, see `PassthroughChannel`).
///
/// The kernel binds every open of an inode to one way: while an inode is open through a
/// backing file, any other open of it that does not name the same backing file fails, and
/// while it is open the ordinary way none may name one; it fails such an open with EIO after
/// we answered. So the opens of an inode share the way its first open chose:
/// - a backing file when that open only reads, the content is an LFS object in the local
///   store, and the channel works;
/// - otherwise the ordinary way, until every open of the inode is closed.
/// What the rule cannot serve is refused here, with the errno a user can act on: writing to
/// (or truncating) a file open through its backing file is ETXTBSY, as for a running program,
/// until those opens are closed. (Another writer's change to a file comes as a new node, so
/// its readers never meet the old object; should an inode's content change under its readers
/// anyway, new opens are EBUSY rather than shown the old object.)
final class BackingFiles: @unchecked Sendable {
    // @unchecked: `inodes` is under `lock`, held across the channel's calls (two quick
    // ioctls) so that the first open's choice and the last close's cleanup are one step.
    enum Way: Equatable {
        case ordinary
        case backing(id: Int32)
    }
    /// What a read-only open would read through a backing file: the blob (an LFS pointer)
    /// whose object `fd` is.
    struct Content {
        let blob: ObjectID
        let fd: Int32
    }
    private struct Entry {
        var opens = 0
        var backing: (id: Int32, blob: ObjectID)?
    }
    private let lock = NSCondition()
    private var inodes: [UInt64: Entry] = [:]
    private let channel: PassthroughChannel?
    /// The kernel sends a file's release in the background after `close` returns, so an open
    /// right after a close may arrive first (several workers read requests): a conflict
    /// waits this long for the releases it needs before it is refused.
    static let releaseWait = 0.5

    /// Without a channel (`--no-passthrough`, or it could not be installed) every open is
    /// ordinary and nothing is refused.
    init(channel: PassthroughChannel?) {
        self.channel = channel
    }

    /// Whether a read-only open should look for its `Content` (which costs opening the object).
    var wanted: Bool { channel?.usable ?? false }

    /// Counts in an open of `inode`, which the caller counts out with `close` when it ends
    /// (or when the open fails after this). `content` is nil for opens that write.
    func open(_ inode: UInt64, writing: Bool, content: Content?) throws -> Way {
        guard let channel, channel.installed else { return .ordinary }
        lock.lock()
        defer { lock.unlock() }
        try wait(for: inode) { backing in writing ? ETXTBSY : content?.blob == backing.blob ? nil : EBUSY }
        var entry = inodes[inode] ?? Entry()
        if entry.backing == nil, entry.opens == 0, !writing, let content, let id = channel.register(content.fd) {
            entry.backing = (id, content.blob)
        }
        entry.opens += 1
        inodes[inode] = entry
        return entry.backing.map { .backing(id: $0.id) } ?? .ordinary
    }

    func close(_ inode: UInt64) {
        lock.lock()
        defer { lock.unlock() }
        guard var entry = inodes[inode] else { return }
        entry.opens -= 1
        guard entry.opens == 0 else {
            inodes[inode] = entry
            return
        }
        if let backing = entry.backing { channel?.unregister(backing.id) }
        inodes[inode] = nil
        lock.broadcast()
    }

    /// For a truncate by path: ETXTBSY while the file is read through a backing file.
    func checkWritable(_ inode: UInt64) throws {
        lock.lock()
        defer { lock.unlock() }
        try wait(for: inode) { _ in ETXTBSY }
    }

    /// Waits (up to `releaseWait`, under `lock`) until `conflict` finds nothing against the
    /// inode's backing file, or there is none; then throws what it found.
    private func wait(for inode: UInt64, _ conflict: ((id: Int32, blob: ObjectID)) -> Int32?) throws {
        let deadline = Date(timeIntervalSinceNow: Self.releaseWait)
        while let backing = inodes[inode]?.backing, let code = conflict(backing) {
            if Date() >= deadline { throw Errno(code: code) }
            _ = lock.wait(until: deadline)
        }
    }

    /// Opens read through backing files now (for `@/status`).
    var backedOpens: Int {
        lock.lock()
        defer { lock.unlock() }
        return inodes.values.reduce(0) { $0 + ($1.backing == nil ? 0 : $1.opens) }
    }
}
