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
            let reader = try BlobReader(store: store, id: id, lfs: lfs)
            var offset = 0
            while offset < reader.size {
                let piece = try reader.read(at: offset, count: Store.streamChunk)
                try piece.withUnsafeBytes { try file.write($0, at: offset) }
                offset += piece.count
            }
            node.content = .staged(file)
            return file
        case .tree, .directory:
            throw SnapshotError.isADirectory("is a directory")
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
