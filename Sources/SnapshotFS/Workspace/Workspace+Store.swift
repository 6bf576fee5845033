import Foundation

/// Storing pending content as blobs before a commit takes the lock.
///
/// Why: the lock is taken by every lookup, listing and read of the branch, and a commit
/// holds it throughout (a batch is what programs saw at one instant). Hashing, deflating and
/// writing content (seconds per GiB; a pack of 64 MiB for 10,000 small files) is therefore
/// done first, without it: the lock is taken only to list what is pending and to record each
/// result, which is kept only if the content did not change meanwhile. The commit then finds
/// every file stored and writes only trees and the commit. Content that changed meanwhile is
/// stored under the lock by `writeTree`, as before.
extension Workspace {
    /// One pending file's content, as seen under the lock.
    private enum Pending {
        /// Small content in memory (a copy of the array: no bytes are copied).
        case bytes(WorkNode, [UInt8], toLFS: Bool)
        /// A staging file at this generation: small ones go to the batch's pack, large ones
        /// are streamed to loose objects.
        case staged(StagedFile, toLFS: Bool)
    }

    /// Stores every pending file's content (`closedOnly`: only large files no one has open
    /// for writing, see `storeClosedLargeFiles`).
    func storePendingFiles(closedOnly: Bool = false) throws {
        let pending: [Pending] = try locked {
            var found: [Pending] = []
            func walk(_ dir: WorkNode, _ path: RepoPath, _ rules: LFSRules) throws {
                guard case .directory(let entries, nil) = dir.content else { return }
                for (name, node) in entries where !node.failedWrite && !node.superseded {
                    // (The path is made only for what needs it: a changed directory may hold
                    // many unchanged names.)
                    switch node.content {
                    case .directory:
                        let childPath = path.child(name)
                        try walk(node, childPath, try self.rules(in: node, at: childPath, inherited: rules))
                    case .bytes(let bytes) where !closedOnly:
                        found.append(.bytes(node, bytes, toLFS: goesToLFS(path.child(name), size: bytes.count, rules: rules)))
                    case .staged(let file) where file.blob == nil && !(closedOnly && (node.writers > 0 || file.size <= ObjectSink.largeBlob)):
                        found.append(.staged(file, toLFS: goesToLFS(path.child(name), size: file.size, rules: rules)))
                    default: break
                    }
                }
            }
            try walk(root, .root, try rootRules())
            return found
        }
        guard !pending.isEmpty else { return }
        let sink = ObjectSink(store: store)
        var inMemory: [(WorkNode, [UInt8], ObjectID)] = []
        var staged: [(StagedFile, generation: UInt64, size: Int, ObjectID)] = []
        for item in pending {
            switch item {
            case .bytes(let node, let bytes, let toLFS):
                inMemory.append((node, bytes, try sink.add(.blob, toLFS ? try store.writeLFSObject(bytes).text : bytes)))
            case .staged(let file, let toLFS) where file.size > ObjectSink.largeBlob || toLFS:
                try storeAlone(file, toLFS: toLFS)
            case .staged(let file, _):
                // Read with `pread` while writers may `pwrite`: the generation says, under the
                // lock, whether what was read is still the content.
                guard let (generation, size) = locked({ file.blob == nil ? (file.generation, file.size) : nil }) else { continue }
                staged.append((file, generation, size, try sink.add(.blob, try file.read(at: 0, count: size))))
            }
        }
        // Recorded only once stored: a node must never name an object that is not there.
        try sink.flush()
        locked {
            for (node, bytes, id) in inMemory where !node.superseded {
                guard case .bytes(let now) = node.content, now == bytes else { continue }
                forgetBytes(node)
                node.content = .blob(id)
            }
            for (file, generation, size, id) in staged where file.generation == generation && file.size == size && file.blob == nil {
                file.blob = id
            }
        }
    }

    /// Stores the large files whose writers have all closed them, now rather than at the
    /// next commit, and flushes them to the disk: the commit that follows (the quiet one, or
    /// `sync MNT`) then finds them stored. Why: the kernel holds a folder's lock for the
    /// whole of an `fsync` of it, so every listing and lookup in that folder waits for
    /// whatever that `fsync` does; work done before it arrives is work no one waits for.
    public func storeClosedLargeFiles() throws {
        try storePendingFiles(closedOnly: true)
    }

    /// Stores one large (or LFS) file, once: under its `storing` lock, so a commit arriving
    /// while the background store runs waits for it and then finds the blob made.
    private func storeAlone(_ file: StagedFile, toLFS: Bool) throws {
        file.storing.lock()
        defer { file.storing.unlock() }
        guard let (generation, size) = locked({ file.blob == nil ? (file.generation, file.size) : nil }) else { return }
        let id = toLFS ? try store.writeBlob(try store.writeLFSObject(fromDescriptor: file.fd, size: size).text)
                       : try store.writeBlob(fromDescriptor: file.fd, size: size, at: 0)
        locked {
            if file.generation == generation, file.size == size {
                file.blob = id
                file.blobIsLFSPointer = toLFS
            }
        }
    }
}
