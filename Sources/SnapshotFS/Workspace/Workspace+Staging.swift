import Foundation

/// Where a file's new content is kept until it is committed: small content in memory, the
/// rest in a staging file (see `StagedFile`), which starts as a copy of the committed blob.
extension Workspace {
    /// Marks the node's data incomplete if staging it fails.
    func failing(_ node: WorkNode, _ body: () throws -> Void) throws {
        do { try body() } catch {
            node.failedWrite = true
            throw error
        }
    }

    /// The node's staging file, made now (with the current content copied in) if needed.
    func staged(_ node: WorkNode) throws -> StagedFile {
        switch node.content {
        case .staged(let file): return file
        case .bytes(let bytes):
            let file = try StagedFile(directory: try stagingDescriptor())
            try bytes.withUnsafeBytes { try file.write($0, at: 0) }
            forgetBytes(node)
            node.content = .staged(file)
            return file
        case .blob(let id):
            node.original = id
            let file = try StagedFile(directory: try stagingDescriptor())
            try copy(id, into: file)
            node.content = .staged(file)
            return file
        case .tree, .directory:
            throw SnapshotError.isADirectory("is a directory")
        }
    }

    /// The first change to a committed file copies its content into a staging file: done
    /// here without the lock, which every lookup and listing takes, so that copying a large
    /// blob (seconds per GiB) holds up nothing but this file's own writers. The copy is put
    /// in place only if the file still shows that blob; otherwise (another writer staged it
    /// first, a commit taken in replaced it) it is dropped and `staged` does what is needed
    /// under the lock, as before.
    func stageOutsideTheLock(_ node: WorkNode) throws {
        guard let (id, directory) = try locked({ () -> (ObjectID, Int32)? in
            guard case .blob(let id) = node.content, node.mode.isFile, !node.superseded else { return nil }
            return (id, try stagingDescriptor())
        }) else { return }
        let file = try StagedFile(directory: directory)
        try copy(id, into: file)
        locked {
            guard case .blob(id) = node.content, !node.superseded else { return }
            node.original = id
            node.content = .staged(file)
        }
    }

    private func copy(_ id: ObjectID, into file: StagedFile) throws {
        let reader = try BlobReader(store: store, id: id, lfs: lfs)
        var offset = 0
        while offset < reader.size {
            let piece = try reader.read(at: offset, count: Store.streamChunk)
            guard !piece.isEmpty else { throw SnapshotError.io(errno: EIO, "\(id) ended early") }
            try piece.withUnsafeBytes { try file.write($0, at: offset) }
            offset += piece.count
        }
    }

    func forgetBytes(_ node: WorkNode) {
        if case .bytes(let bytes) = node.content { memoryBytes -= bytes.count }
    }
}

extension WorkNode {
    var isStaged: Bool {
        if case .staged = content { return true }
        return false
    }
}
