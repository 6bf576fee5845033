import Foundation

/// Copying between the local disk and a snapshot (vost's `copy_in`, `copy_out`, `sync_in`,
/// `sync_out`). Files are streamed, symlinks stay symlinks, execute bits are kept, empty
/// directories are kept (as empty trees in the repository), and other file types (devices,
/// sockets) are skipped.
extension Snapshot {
    /// Copies local files and directories into `destination`, as one commit. A source
    /// directory lands as `destination/<name>`; one written with a trailing `/` has its
    /// contents copied into `destination` (rsync's rule, as in vost).
    public func copyIn(_ sources: [String], to destination: RepoPath = .root, message: String? = nil) throws -> Snapshot {
        try batch(message: message) { batch in
            for source in sources {
                var bytes = Array(source.utf8)
                let contentsOnly = bytes.count > 1 && bytes.last == 0x2F
                while bytes.count > 1, bytes.last == 0x2F { bytes.removeLast() }
                guard let kind = LocalFiles.kind(bytes) else { throw SnapshotError.notFound(source) }
                let name = bytes.split(separator: 0x2F).last.map(Array.init) ?? bytes
                if case .directory = kind, contentsOnly {
                    try Self.copyInTree(bytes, to: destination, batch: batch)
                } else {
                    try Self.copyInTree(bytes, to: destination.appending(name), batch: batch)
                }
            }
        }
    }

    /// Makes `destination` identical to the local directory `source` (deleting what it lacks),
    /// as one commit; unchanged files do not count as changes.
    public func syncIn(_ source: String, to destination: RepoPath = .root, message: String? = nil) throws -> Snapshot {
        let local = Array(source.utf8)
        guard case .directory? = LocalFiles.kind(local) else { throw SnapshotError.notADirectory(source) }
        return try batch(message: message) { batch in
            if destination.isRoot {
                for entry in try entries() { try batch.remove(RepoPath(validated: [entry.name]), recursive: true) }
            } else if try batch.entry(at: destination) != nil {
                try batch.remove(destination, recursive: true)
            }
            try Self.copyInTree(local, to: destination, batch: batch)
        }
    }

    private static func copyInTree(_ local: [UInt8], to path: RepoPath, batch: Batch) throws {
        switch LocalFiles.kind(local) {
        case .file(let executable)?:
            try batch.write(path, fromFile: LocalFiles.show(local), mode: executable ? .executable : .file)
        case .symlink?:
            try batch.writeSymlink(path, target: LocalFiles.readLink(local))
        case .directory?:
            let names = try LocalFiles.list(local)
            if names.isEmpty, !path.isRoot { try batch.set(path, entry: TreeEntry(name: path.name, mode: .directory, id: batch.store.writeTree([]))) }
            for name in names where !RepoPath.isGitDir(name) {
                try copyInTree(local + [0x2F] + name, to: path.appending(name), batch: batch)
            }
        case .other?, nil:
            break
        }
    }

    /// Copies files or directories of this snapshot into the local directory `destination`
    /// (created if missing): `path` lands as `destination/<name>`.
    public func copyOut(_ paths: [RepoPath], to destination: String) throws {
        let root = Array(destination.utf8)
        try LocalFiles.makeDirectories(root)
        for path in paths {
            let target = path.isRoot ? root : root + [0x2F] + path.name
            try copyOutTree(try entry(at: path), to: target)
        }
    }

    /// Makes the local directory `destination` identical to `path` in this snapshot, deleting
    /// local files the snapshot lacks.
    public func syncOut(_ path: RepoPath = .root, to destination: String) throws {
        let root = Array(destination.utf8)
        let top = try entry(at: path)
        guard top.mode == .directory else { throw SnapshotError.notADirectory(path.string) }
        if case .directory? = LocalFiles.kind(root) {} else {
            if LocalFiles.kind(root) != nil { try LocalFiles.remove(root) }
            try LocalFiles.makeDirectories(root)
        }
        try syncOutTree(top, to: root)
    }

    private func syncOutTree(_ dir: TreeEntry, to local: [UInt8]) throws {
        let entries = try store.tree(dir.id).entries
        let wanted = Set(entries.map(\.name))
        for name in try LocalFiles.list(local) where !wanted.contains(name) { try LocalFiles.remove(local + [0x2F] + name) }
        for entry in entries {
            let target = local + [0x2F] + entry.name
            if entry.mode == .directory {
                if case .directory? = LocalFiles.kind(target) {} else {
                    if LocalFiles.kind(target) != nil { try LocalFiles.remove(target) }
                    try LocalFiles.makeDirectories(target)
                }
                try syncOutTree(entry, to: target)
            } else {
                if case .directory? = LocalFiles.kind(target) { try LocalFiles.remove(target) }
                try copyOutTree(entry, to: target)
            }
        }
    }

    private func copyOutTree(_ entry: TreeEntry, to local: [UInt8]) throws {
        switch entry.mode {
        case .directory:
            try LocalFiles.makeDirectories(local)
            for child in try store.tree(entry.id).entries { try copyOutTree(child, to: local + [0x2F] + child.name) }
        case .gitlink:
            try LocalFiles.makeDirectories(local)
        case .symlink:
            try LocalFiles.symlink(local, target: store.blob(entry.id))
        case .file, .executable:
            // In 1 MiB slices: a large blob never sits whole in memory.
            let reader = try BlobReader(store: store, id: entry.id)
            try LocalFiles.writeFile(local, executable: entry.mode == .executable) { write in
                var offset = 0
                repeat {
                    let piece = try reader.read(at: offset, count: 1 << 20)
                    try write(piece)
                    offset += piece.count
                    if piece.isEmpty { break }
                } while offset < reader.size
            }
        }
    }
}
