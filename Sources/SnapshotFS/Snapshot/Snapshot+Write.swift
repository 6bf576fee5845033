import Foundation

/// One write of `Snapshot.apply`: bytes with a mode, a symlink, or a file on disk.
public enum WriteEntry: Sendable {
    case data([UInt8], mode: FileMode = .file)
    case symlink(target: String)
    case file(localPath: String, mode: FileMode? = nil)
}

/// Every write returns a new snapshot for the new commit and moves the branch; a snapshot
/// whose branch has moved since it was taken gets `SnapshotError.stale` (see `retryWrite`).
/// A write that changes nothing makes no commit and returns an equal snapshot.
extension Snapshot {
    /// Runs `body` on a batch and commits what it did as one commit. If `body` throws, nothing
    /// is committed and the error is rethrown.
    public func batch(message: String? = nil, parents: [Snapshot] = [], _ body: (Batch) throws -> Void) throws -> Snapshot {
        let batch = try Batch(base: self, parents: parents.map(\.commitID))
        try body(batch)
        return try batch.commit(message: message)
    }

    /// An open batch, for callers that cannot use a closure; call `commit()` on it.
    public func makeBatch() throws -> Batch { try Batch(base: self) }

    /// Writes `bytes` at `path` (`.file` or `.executable`): one commit.
    public func write(_ path: RepoPath, _ bytes: [UInt8], mode: FileMode = .file, message: String? = nil) throws -> Snapshot {
        try batch(message: message) { try $0.write(path, bytes, mode: mode) }
    }

    /// Writes text (UTF-8) at `path`: one commit.
    public func write(_ path: RepoPath, text: String, mode: FileMode = .file, message: String? = nil) throws -> Snapshot {
        try write(path, Array(text.utf8), mode: mode, message: message)
    }

    /// Writes a file from disk, streamed: memory does not grow with its size.
    public func write(_ path: RepoPath, fromFile localPath: String, mode: FileMode? = nil, message: String? = nil) throws -> Snapshot {
        try batch(message: message) { try $0.write(path, fromFile: localPath, mode: mode) }
    }

    /// Writes a symlink to `target` at `path`: one commit.
    public func writeSymlink(_ path: RepoPath, target: String, message: String? = nil) throws -> Snapshot {
        try batch(message: message) { try $0.writeSymlink(path, target: target) }
    }

    /// Removes files (and directories, with `recursive`); `notFound` if a path is absent.
    public func remove(_ paths: [RepoPath], recursive: Bool = false, message: String? = nil) throws -> Snapshot {
        try batch(message: message) { batch in for path in paths { try batch.remove(path, recursive: recursive) } }
    }

    /// Removes one path; see `remove(_:recursive:message:)` for several.
    public func remove(_ path: RepoPath, recursive: Bool = false, message: String? = nil) throws -> Snapshot {
        try remove([path], recursive: recursive, message: message)
    }

    /// Renames `sources` to `destination`: one source onto a path that is not a directory is
    /// a rename; otherwise each source moves into the `destination` directory.
    public func move(_ sources: [RepoPath], to destination: RepoPath, message: String? = nil) throws -> Snapshot {
        let destinationIsDirectory = try isDirectory(destination)
        let intoDirectory = sources.count > 1 || destinationIsDirectory
        return try batch(message: message) { batch in
            for source in sources {
                let target = intoDirectory ? destination.appending(path: RepoPath(validated: [source.name])) : destination
                try batch.move(source, to: target)
            }
        }
    }

    /// Many writes and removals as one commit, without a closure (vost's `apply`).
    public func apply(writes: [RepoPath: WriteEntry] = [:], removes: [RepoPath] = [], message: String? = nil) throws -> Snapshot {
        try batch(message: message) { batch in
            for (path, entry) in writes {
                switch entry {
                case .data(let bytes, let mode): try batch.write(path, bytes, mode: mode)
                case .symlink(let target): try batch.writeSymlink(path, target: target)
                case .file(let local, let mode): try batch.write(path, fromFile: local, mode: mode)
                }
            }
            for path in removes { try batch.remove(path, recursive: true) }
        }
    }

    /// A streaming writer: write pieces, then `close()`; its `snapshot` is the new commit.
    public func writer(_ path: RepoPath, mode: FileMode = .file, message: String? = nil) throws -> FileWriter {
        let batch = try Batch(base: self)
        // The closure returns the commit instead of storing it in the writer: capturing the
        // writer would make a cycle, and every writer and its batch would leak.
        return try FileWriter(directory: store.scratchDirectory) { fd, size in
            try batch.put(path, mode: mode, descriptor: fd, size: size)
            return try batch.commit(message: message)
        }
    }

    /// Copies a file or directory from another snapshot (any branch, tag or commit) without
    /// reading its data: the tree entry is reused. With `contentsOnly`, the entries of the
    /// directory `path` go into `destination`; otherwise `path` goes to `destination` (by
    /// default the same path).
    public func copy(from source: Snapshot, _ path: RepoPath, to destination: RepoPath? = nil,
                     contentsOnly: Bool = false, message: String? = nil) throws -> Snapshot {
        let entry = try source.entry(at: path)
        let target = destination ?? path
        return try batch(message: message) { batch in
            if contentsOnly {
                guard entry.mode == .directory else { throw SnapshotError.notADirectory(path.string) }
                for child in try store.tree(entry.id).entries {
                    try batch.set(target.appending(path: RepoPath(validated: [child.name])), entry: child)
                }
            } else if target.isRoot {
                guard entry.mode == .directory else { throw SnapshotError.isADirectory("/") }
                for child in try store.tree(entry.id).entries { try batch.set(RepoPath(validated: [child.name]), entry: child) }
            } else {
                try batch.set(target, entry: entry)
            }
        }
    }
}

/// Writes `bytes` to `path` on the tip of `branch`, re-reading the tip and trying again when
/// another writer moved it first (vost's `retry_write`). Waits between tries grow (10 ms
/// doubling, capped at 200 ms) with random jitter, so writers that collided spread out.
public func retryWrite(_ store: Store, branch: String, path: RepoPath, bytes: [UInt8], mode: FileMode = .file,
                       message: String? = nil, attempts: Int = 10) throws -> Snapshot {
    var attempt = 0
    while true {
        do {
            return try store.branches[branch].write(path, bytes, mode: mode, message: message)
        } catch SnapshotError.stale(let why) {
            attempt += 1
            guard attempt < attempts else { throw SnapshotError.stale(why) }
            let cap = min(0.01 * Double(1 << min(attempt - 1, 5)), 0.2)
            Thread.sleep(forTimeInterval: Double.random(in: 0...cap))
        }
    }
}
