import Foundation

/// What `stat` reports for a path: vost's `StatResult`.
public struct Stat: Sendable, Equatable {
    /// File, executable, symlink or directory.
    public let mode: FileMode
    /// Bytes; 0 for directories.
    public let size: Int
    /// The blob or tree name, which stands for the content.
    public let id: ObjectID
    /// 1 for files; 2 + subdirectories for directories, as Linux counts.
    public let nlink: Int
    /// The commit time: Git stores no per-file times.
    public let mtime: Date
}

extension Snapshot {
    /// A file's bytes, or `count` of them from `offset` (fewer at the end of the file).
    public func read(_ path: RepoPath, offset: Int = 0, count: Int? = nil) throws -> [UInt8] {
        try readBlob(try fileEntry(at: path).id, offset: offset, count: count)
    }

    /// A file's content as text (invalid UTF-8 shows as U+FFFD).
    public func readText(_ path: RepoPath) throws -> String {
        String(decoding: try read(path), as: UTF8.self)
    }

    /// A blob's bytes by object name, bypassing the tree.
    public func readBlob(_ id: ObjectID, offset: Int = 0, count: Int? = nil) throws -> [UInt8] {
        guard offset >= 0, (count ?? 0) >= 0 else { throw SnapshotError.invalidArgument("negative offset or count") }
        if offset == 0 && count == nil { return try store.blob(id) }
        let reader = try BlobReader(store: store, id: id)
        return try reader.read(at: offset, count: count ?? max(0, reader.size - offset))
    }

    /// A symlink's target, as bytes (Linux targets need not be UTF-8).
    public func readLinkBytes(_ path: RepoPath) throws -> [UInt8] {
        let found = try entry(at: path)
        guard found.mode == .symlink else { throw SnapshotError.invalidArgument("\(path) is not a symlink") }
        return try store.blob(found.id)
    }

    /// A symlink's target as text.
    public func readLink(_ path: RepoPath) throws -> String {
        String(decoding: try readLinkBytes(path), as: UTF8.self)
    }

    /// Whether anything is at `path`.
    public func exists(_ path: RepoPath) throws -> Bool { try entryIfPresent(at: path) != nil }

    /// Whether `path` is a directory; false when absent.
    public func isDirectory(_ path: RepoPath) throws -> Bool { try entryIfPresent(at: path)?.mode.isDirectory ?? false }

    /// What is at `path`; `notFound` when absent.
    public func fileType(_ path: RepoPath) throws -> FileMode { try entry(at: path).mode }

    /// A file's size in bytes (0 for directories), from the object header.
    public func size(_ path: RepoPath) throws -> Int {
        let found = try entry(at: path)
        return found.mode.isDirectory ? 0 : try store.blobSize(found.id)
    }

    /// The blob or tree name at `path`.
    public func objectID(_ path: RepoPath) throws -> ObjectID { try entry(at: path).id }

    /// Mode, size, object name, link count and time of `path` in one call (vost's `stat`).
    public func stat(_ path: RepoPath = .root) throws -> Stat {
        let found = try entry(at: path)
        if found.mode == .directory {
            return Stat(mode: .directory, size: 0, id: found.id, nlink: 2 + (try store.tree(found.id).directoryCount), mtime: time)
        }
        if found.mode == .gitlink { return Stat(mode: .gitlink, size: 0, id: found.id, nlink: 2, mtime: time) }
        return Stat(mode: found.mode, size: try store.blobSize(found.id), id: found.id, nlink: 1, mtime: time)
    }

    /// The names in a directory, sorted by bytes.
    public func list(_ path: RepoPath = .root) throws -> [String] {
        try directory(at: path).entries.map(\.nameString)
    }

    /// The entries (name, mode, object) of a directory, sorted by name bytes.
    public func entries(_ path: RepoPath = .root) throws -> [TreeEntry] { try directory(at: path).entries }

    /// One directory of a walk: like Python's `os.walk`, directories and files apart.
    public struct WalkStep: Sendable {
        /// The directory walked.
        public let path: RepoPath
        /// Its subdirectories (walked after it).
        public let directories: [TreeEntry]
        /// Its files and symlinks.
        public let files: [TreeEntry]
    }

    /// Every directory under `path`, top-down, parents before children.
    public func walk(_ path: RepoPath = .root) throws -> [WalkStep] {
        var steps: [WalkStep] = []
        var pending: [(RepoPath, ObjectID)] = [(path, try entry(at: path).id)]
        guard try entry(at: path).mode == .directory else { throw SnapshotError.notADirectory(path.string) }
        while let (dir, id) = pending.popLast() {
            let tree = try store.tree(id)
            let dirs = tree.entries.filter { $0.mode == .directory }
            steps.append(WalkStep(path: dir, directories: dirs, files: tree.entries.filter { !$0.mode.isDirectory }))
            for sub in dirs.reversed() { pending.append((dir.appending(path: RepoPath(validated: [sub.name])), sub.id)) }
        }
        return steps
    }

    /// Every file (not directory) under `path` with its entry, depth first, sorted by path.
    public func files(under path: RepoPath = .root) throws -> [(path: RepoPath, entry: TreeEntry)] {
        let top = try entry(at: path)
        if !top.mode.isDirectory { return [(path, top)] }
        var out: [(path: RepoPath, entry: TreeEntry)] = []
        for step in try walk(path) {
            for file in step.files { out.append((step.path.appending(path: RepoPath(validated: [file.name])), file)) }
        }
        return out.sorted { $0.path < $1.path }
    }
}
