import CFuse
import Foundation
import SnapshotFS

/// The operations that change the branch. Everything lands in the workspace's one batch;
/// history and the index folders refuse with `EROFS`, and what a Git tree cannot hold with
/// the errno Linux gives for it.
extension Filesystem {
    /// The branch directory a change happens in, or the errno for changing `node`.
    func writableDirectory(_ node: Node) throws -> WorkNode {
        guard let dir = node.as(BranchNode.self)?.work, !config.readOnly else { throw Errno.readOnly }
        guard dir.isDirectory else { throw dir.isGitlink ? Errno.readOnly : Errno.notDirectory }
        return dir
    }

    func writableNode(_ id: UInt64) throws -> WorkNode {
        guard let work = try node(id).as(BranchNode.self)?.work, !config.readOnly else { throw Errno.readOnly }
        return work
    }

    /// New names at the mount's root may not start with `@`: those are history. No name may
    /// be longer than `statfs` says (a clone would fail on it).
    func checkNewName(_ dir: WorkNode, _ name: [UInt8]) throws {
        try Self.checkLength(name)
        if isMountRoot(dir), name.first == UInt8(ascii: "@") { throw Errno.invalid }
    }

    // MARK: Files

    /// What an open answers: the handle, whether the kernel may keep the pages it has, and
    /// whether it reads the file itself from a backing file (see `BackingFiles`).
    struct Opened {
        let handle: UInt64
        let keepCache: Bool
        var way: BackingFiles.Way = .ordinary
        /// No page cache at all (`@/status`, whose content is made at each open).
        var directIO = false
    }

    static func isWriting(_ flags: Int32) -> Bool { flags & O_ACCMODE != O_RDONLY || flags & O_TRUNC != 0 }

    /// Opens a file: each kind of node says how (see `MountNode.open`).
    func open(_ id: UInt64, flags: Int32) throws -> Opened { try node(id).kind.open(id: id, flags: flags, in: self) }

    /// A history file: one blob, which never changes.
    func openHistoryFile(_ blob: ObjectID, id: UInt64) throws -> Opened {
        try awaitLFSObject(blob)
        let reader = try BlobReader(store: store, id: blob, shared: true, lfs: config.lfs)
        let way = try backingFiles.open(id, writing: false, content: backingContent(reader))
        if way == .ordinary, let session, reader.size <= Prefill.limit {
            try? prefill.store(id, node: nil, session: session) { try reader.read(at: 0, count: reader.size) }
        }
        return Opened(handle: handles.add(.file(reader)), keepCache: true, way: way)
    }

    /// A file of the branch. Read-only mounts refuse writing; a writable open counts as a
    /// writer until `release`, and `O_TRUNC` empties the file.
    func openBranchFile(_ work: WorkNode, id: UInt64, flags: Int32) throws -> Opened {
        let writing = Self.isWriting(flags)
        if work.isDirectory || work.isGitlink { throw Errno.isDirectory }
        if writing, config.readOnly { throw Errno.readOnly }
        if noOpen, writing {
            // An open for writing that comes before the kernel stopped sending opens gets no
            // handle: once it stops, it sends no release for handles it holds either.
            try openWithoutHandle(id, work, truncating: flags & O_TRUNC != 0)
            return Opened(handle: 0, keepCache: true, way: .ordinary)
        }
        let file = OpenFile(node: work, writable: writing)
        var content: BackingFiles.Content?
        // Committed content (pending content is here already), unless the open empties it.
        let committed: ObjectID? = if flags & O_TRUNC == 0, case .blob(let blob) = try workspace!.read(work, at: 0, count: 0) { blob } else { nil }
        if let committed { try awaitLFSObject(committed) }
        if !writing, seeksBackingFiles, let blob = committed, try store.lfsPointer(blob) != nil {
            content = backingContent(try file.reader(for: blob, store: store, lfs: config.lfs))
        }
        let way = try backingFiles.open(id, writing: writing, content: content)
        if writing {
            prefill.beginWriting(work)
            do {
                // Counted first: a node that another writer's commit replaced is refused
                // here (ESTALE: the kernel looks the name up again and opens the new node).
                try workspace!.openedForWriting(work)
                do {
                    if flags & O_TRUNC != 0 { try workspace!.truncate(work, to: 0) }
                } catch {
                    workspace!.closedForWriting(work)
                    throw error
                }
            } catch {
                prefill.endWriting(work)
                backingFiles.close(id)
                throw error
            }
        } else if way == .ordinary, let session {
            // Only committed content is pushed: pending content was written through the
            // kernel, which has it already. Read again here, where no writer can start
            // (see `Prefill`), through the handle's own reader: the blob is inflated once.
            try? prefill.store(id, node: work, session: session) {
                guard case .blob(let blob) = try workspace!.read(work, at: 0, count: 0),
                      try fileSize(blob) <= Prefill.limit else { return nil }
                return try file.reader(for: blob, store: store, lfs: config.lfs).read(at: 0, count: Prefill.limit)
            }
        }
        // The kernel's pages of this inode are right: only this mount changes a node, and
        // another writer's version of the file comes as a new node.
        return Opened(handle: handles.add(.work(file)), keepCache: true, way: way)
    }

    /// An LFS file whose object is not in the local store: with `--remote` the open waits for
    /// it (see `LFSDownloads.ensure`, which fails with EIO when it does not come); without,
    /// the open succeeds and its reads fail with EIO, saying which object is missing.
    func awaitLFSObject(_ blob: ObjectID) throws {
        guard let lfsDownloads, let pointer = try store.lfsPointer(blob), store.lacksLFSObject(pointer) else { return }
        try lfsDownloads.ensure(pointer)
    }

    /// Whether an open that reads should look for an LFS object to hand the kernel: only
    /// where the kernel takes them and the repository has LFS content at all, so that other
    /// opens cost nothing more.
    var seeksBackingFiles: Bool { backingFiles.wanted && config.lfs && store.usesLFS }

    /// An LFS object to hand the kernel, when backing files are in use.
    private func backingContent(_ reader: BlobReader) -> BackingFiles.Content? {
        guard seeksBackingFiles, let fd = reader.objectDescriptor else { return nil }
        return BackingFiles.Content(blob: reader.id, fd: fd)
    }

    /// `creat`/`open(O_CREAT)` of a name the kernel found missing.
    func create(parent: UInt64, name: [UInt8], mode: mode_t, flags: Int32) throws -> (node: Node, handle: UInt64) {
        let dir = try writableDirectory(try node(parent))
        try checkNewName(dir, name)
        let work: WorkNode
        var existed = false
        do {
            work = try workspace!.create(in: dir, name, executable: mode & 0o111 != 0)
        } catch SnapshotError.alreadyExists(_) where flags & O_EXCL == 0 {
            // Someone made it since the kernel looked: open what is there, as open(2) would.
            guard let existing = try workspace!.child(dir, name), !existing.isDirectory else { throw Errno(code: EISDIR) }
            work = existing
            existed = true
        }
        let id = inodes.number(Node(BranchNode(work)))
        // With no opens, the kernel sends no release for a file it created either: no handle,
        // and the file counts as written until quiet (see `UnopenedWriters`).
        if noOpen {
            try openWithoutHandle(id, work, truncating: existed && flags & O_TRUNC != 0)
            return (Node(BranchNode(work)), 0)
        }
        _ = try backingFiles.open(id, writing: true, content: nil)
        do {
            try workspace!.openedForWriting(work)
            if existed, flags & O_TRUNC != 0 {
                do { try workspace!.truncate(work, to: 0) } catch {
                    workspace!.closedForWriting(work)
                    throw error
                }
            }
        } catch {
            backingFiles.close(id)
            throw error
        }
        prefill.beginWriting(work)
        return (Node(BranchNode(work)), handles.add(.work(OpenFile(node: work, writable: true))))
    }

    func write(handle: UInt64, inode: UInt64, bytes: UnsafeRawBufferPointer, offset: Int) throws {
        try workspace!.write(try writeTarget(handle: handle, inode: inode), bytes, at: offset)
    }

    /// The file a write or an allocation changes: its open's, or with no open (`--no-open`)
    /// the inode's, counted as being written (see `UnopenedWriters`).
    func writeTarget(handle: UInt64, inode: UInt64) throws -> WorkNode {
        if handle == 0, noOpen {
            let work = try writableNode(inode)
            if work.isDirectory { throw Errno.isDirectory }
            try countUnopenedWriter(inode, work)
            return work
        }
        guard case .work(let file)? = handles.get(handle), file.writable else { throw Errno.badHandle }
        return file.node
    }

    /// The end of an open: a writer is counted out, and with `--commit-delay 0` the batch
    /// commits as soon as nothing is open for writing.
    func release(handle: UInt64, inode: UInt64) {
        guard let opened = handles.get(handle) else { return }
        handles.remove(handle)
        switch opened {
        case .file, .work: backingFiles.close(inode)
        case .directory, .bytes: break
        }
        guard case .work(let file) = opened, file.writable, let workspace else { return }
        prefill.endWriting(file.node)
        let storeNow = workspace.closedForWriting(file.node)
        if config.commitDelay == 0, workspace.activity.writers == 0 {
            commitPending(reason: "close")
        } else if storeNow {
            storeClosedFiles(workspace)
        }
    }

    /// Stores the large files that are closed, on `vostmount.store`, before any commit asks
    /// (see `Workspace.storeClosedLargeFiles`): a `sync MNT` that follows then holds the
    /// kernel's lock on the folder for a commit with little left to do. One run at a time;
    /// a close during a run asks for one more. A failure costs nothing: the commit stores
    /// the file itself, and says what failed.
    func storeClosedFiles(_ workspace: Workspace) {
        guard !storeRequested.exchange(true, ordering: .acquiringAndReleasing) else { return }
        storing.async { [logger] in
            self.storeRequested.store(false, ordering: .releasing)
            do { try workspace.storeClosedLargeFiles() } catch {
                logger.info("storing closed files ahead of the commit: \(error)")
            }
        }
    }

    /// `fsync`, `fdatasync` and `fsyncdir`: the batch commits, and the call returns once the
    /// commit and its ref are on disk.
    /// A commit that fails is logged, and answered as a failed fsync is on any filesystem:
    /// EIO (or the disk's own errno, ENOSPC), never EAGAIN, which no program retries an
    /// fsync for. The batch stays pending.
    func sync() throws {
        guard let workspace, !config.readOnly else { return }
        // A file written with no open is done being written as far as the mount can tell:
        // its writer is counted out now, as a close would have been.
        countOutUnopenedWriters(quietFor: 0)
        let made: Snapshot?
        do {
            made = try workspace.commit()
            try store.syncToDisk()
        } catch {
            logger.error("fsync: the batch could not be committed: \(error)")
            if case SnapshotError.stale = error { throw Errno.io }
            throw error
        }
        if made != nil { committedHere() }
    }

    // MARK: Names

    func mknod(parent: UInt64, name: [UInt8], mode: mode_t) throws -> Node {
        let dir = try writableDirectory(try node(parent))
        try Self.checkLength(name)
        // A Git tree holds files, symlinks and directories only.
        guard mode & S_IFMT == S_IFREG else { throw Errno.notPermitted }
        try checkNewName(dir, name)
        return Node(BranchNode(try workspace!.create(in: dir, name, executable: mode & 0o111 != 0)))
    }

    /// `mkdir`: a folder of the branch, or in `@/tags` and `@/branches` a tag or branch at
    /// the tip (see `MountNode.makeDirectory`).
    func mkdir(parent: UInt64, name: [UInt8]) throws -> Node {
        try Self.checkLength(name)
        return try node(parent).kind.makeDirectory(name, in: self)
    }

    /// A ref made or moved by `mkdir` in `@/tags` or `@/branches`: at the tip, once what is
    /// pending is committed.
    func refChange(_ name: [UInt8]) throws -> (Workspace, String) {
        guard let workspace, !config.readOnly, let ref = Namespace.decode(name) else { throw Errno.readOnly }
        try workspace.commit()
        return (workspace, ref)
    }

    func symlink(parent: UInt64, name: [UInt8], target: [UInt8]) throws -> Node {
        let dir = try writableDirectory(try node(parent))
        try checkNewName(dir, name)
        return Node(BranchNode(try workspace!.symlink(in: dir, name, target: target)))
    }

    /// `unlink` and `rmdir`; `rmdir` of `@/tags/NAME` or `@/branches/NAME` deletes the ref.
    func remove(parent: UInt64, name: [UInt8], directory: Bool) throws {
        try node(parent).kind.remove(name, directory: directory, in: self)
    }

    /// `rename(2)` and `renameat2` flags. Between the branch and history: `EXDEV`, as between
    /// two filesystems, so `mv` falls back to copying (and then meets `EROFS`).
    /// `renameat2` flags (linux/fs.h; Glibc's module hides them without _GNU_SOURCE).
    static let renameNoReplace: UInt32 = 1
    static let renameExchange: UInt32 = 2

    func rename(parent: UInt64, name: [UInt8], newParent: UInt64, newName: [UInt8], flags: UInt32) throws {
        let from = try node(parent)
        let to = try node(newParent)
        switch (from.as(BranchNode.self), to.as(BranchNode.self)) {
        case (.some, .some): break
        case (.some, nil), (nil, .some): throw config.readOnly ? Errno.readOnly : Errno.crossDevice
        case (nil, nil): throw Errno.readOnly
        }
        let source = try writableDirectory(from)
        let target = try writableDirectory(to)
        guard flags & ~(Self.renameNoReplace | Self.renameExchange) == 0 else { throw Errno.invalid }
        try checkNewName(target, newName)
        if flags & Self.renameExchange != 0 { try checkNewName(source, name) }
        try workspace!.rename(from: source, name, to: target, newName,
                              noReplace: flags & Self.renameNoReplace != 0, exchange: flags & Self.renameExchange != 0)
    }

    func link(_ id: UInt64, newParent: UInt64) throws -> Never {
        _ = try writableDirectory(try node(newParent))
        _ = try writableNode(id)
        throw Errno.notPermitted  // Git has no hard links
    }
}
