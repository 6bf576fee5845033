import Foundation

extension Workspace {
    // MARK: Bookkeeping

    /// Records that `dir`'s names changed: new listing version, and it and every directory
    /// above it no longer equal a committed tree.
    private func namesChanged(_ dir: WorkNode) {
        changedNodes.insert(ObjectIdentifier(dir))
        dir.version &+= 1
        let now = Timestamp.now
        dir.times.modified = now
        dir.times.changed = now
        contentChanged(below: dir)
    }

    /// Records that something inside `dir` changed (so its tree must be written again).
    private func contentChanged(below dir: WorkNode?) {
        lastChange = Self.now()
        var current = dir
        var first = true
        while let node = current {
            guard case .directory(let entries, let committed) = node.content else { break }
            // An ancestor already pending has pending ancestors too. (`dir` itself may have
            // just been marked by `setEntries`, so the walk always goes past it.)
            if committed == nil, !first { break }
            first = false
            node.content = .directory(entries: entries, committed: nil)
            current = node.parent
        }
    }

    private func fileChanged(_ node: WorkNode) {
        changedNodes.insert(ObjectIdentifier(node))
        let now = Timestamp.now
        node.times.modified = now
        node.times.changed = now
        contentChanged(below: node.parent)
    }

    /// Changes go only to nodes that a commit will see: a node that another writer's commit
    /// replaced is `superseded` (see `WorkNode.superseded`). Under the lock.
    private func live(_ node: WorkNode) throws {
        if node.superseded { throw SnapshotError.superseded("the file or directory was replaced by another writer's commit") }
    }

    private func setEntries(_ dir: WorkNode, _ change: (inout [[UInt8]: WorkNode]) throws -> Void) throws {
        var entries = try self.entries(dir)
        dir.content = .tree(ObjectID.zero)  // drop the dictionary's other reference while editing
        defer { dir.content = .directory(entries: entries, committed: nil) }
        try change(&entries)
    }

    /// A name may be created when a Git tree can hold it.
    /// Names git refuses to check out (`RepoPath.isServable`) are refused as `.git` is: a
    /// tree holding one would hide it from every view.
    private static func checkNew(_ name: [UInt8]) throws {
        if RepoPath.isReservedByGit(name) { throw SnapshotError.notPermitted("\(RepoPath.show(name)) is reserved by Git") }
        try RepoPath.validate(name: name)
    }

    private func checkFree(_ dir: WorkNode, _ name: [UInt8]) throws {
        try live(dir)
        try Self.checkNew(name)
        if try entries(dir)[name] != nil { throw SnapshotError.alreadyExists(RepoPath.show(name)) }
    }

    private func add(_ node: WorkNode, _ name: [UInt8], in dir: WorkNode) throws -> WorkNode {
        try setEntries(dir) { $0[name] = node }
        node.parent = dir
        let now = Timestamp.now
        node.times.modified = now
        node.times.changed = now
        namesChanged(dir)
        return node
    }

    // MARK: Names

    /// A new empty file (`O_EXCL` semantics: an existing name is `alreadyExists`).
    public func create(in dir: WorkNode, _ name: [UInt8], executable: Bool = false) throws -> WorkNode {
        try locked {
            try checkFree(dir, name)
            return try add(WorkNode(mode: executable ? .executable : .file, content: .bytes([]), parent: dir), name, in: dir)
        }
    }

    /// A new empty directory (committed as an empty tree, so it survives a remount).
    public func makeDirectory(in dir: WorkNode, _ name: [UInt8]) throws -> WorkNode {
        try locked {
            try checkFree(dir, name)
            return try add(WorkNode(mode: .directory, content: .directory(entries: [:], committed: nil), parent: dir), name, in: dir)
        }
    }

    /// Creates a symlink `name` in `dir` pointing at `target`; `alreadyExists` if the name is taken.
    public func symlink(in dir: WorkNode, _ name: [UInt8], target: [UInt8]) throws -> WorkNode {
        try locked {
            try checkFree(dir, name)
            memoryBytes += target.count
            return try add(WorkNode(mode: .symlink, content: .bytes(target), parent: dir), name, in: dir)
        }
    }

    /// `unlink` (`directory` false) or `rmdir` (true, and only when empty).
    public func remove(in dir: WorkNode, _ name: [UInt8], directory: Bool) throws {
        try locked {
            try live(dir)
            guard let node = try entries(dir)[name] else { throw SnapshotError.notFound(RepoPath.show(name)) }
            if directory {
                guard node.isDirectory else { throw SnapshotError.notADirectory(RepoPath.show(name)) }
                guard try entries(node).isEmpty else { throw SnapshotError.notEmpty(RepoPath.show(name)) }
            } else if node.isDirectory {
                throw SnapshotError.isADirectory(RepoPath.show(name))
            }
            try setEntries(dir) { $0.removeValue(forKey: name) }
            node.parent = nil
            namesChanged(dir)
        }
    }

    /// `rename(2)` with its flags: replacing a file or an empty directory of the same kind,
    /// `noReplace` (`alreadyExists` if the target is there), `exchange` (swap two names).
    public func rename(from source: WorkNode, _ name: [UInt8], to target: WorkNode, _ newName: [UInt8],
                       noReplace: Bool = false, exchange: Bool = false) throws {
        try locked {
            try live(source)
            try live(target)
            guard let node = try entries(source)[name] else { throw SnapshotError.notFound(RepoPath.show(name)) }
            try Self.checkNew(newName)
            // A directory cannot move below itself.
            var up: WorkNode? = target
            while let current = up {
                if current === node { throw SnapshotError.invalidArgument("cannot move a directory into itself") }
                up = current.parent
            }
            let existing = try entries(target)[newName]
            if existing === node { return }
            if exchange {
                guard let other = existing else { throw SnapshotError.notFound(RepoPath.show(newName)) }
                var down: WorkNode? = source
                while let current = down {
                    if current === other { throw SnapshotError.invalidArgument("cannot move a directory into itself") }
                    down = current.parent
                }
                try setEntries(source) { $0[name] = other }
                try setEntries(target) { $0[newName] = node }
                other.parent = source
                node.parent = target
                namesChanged(source)
                namesChanged(target)
                return
            }
            if let existing {
                if noReplace { throw SnapshotError.alreadyExists(RepoPath.show(newName)) }
                if node.isDirectory {
                    guard existing.isDirectory else { throw SnapshotError.notADirectory(RepoPath.show(newName)) }
                    guard try entries(existing).isEmpty else { throw SnapshotError.notEmpty(RepoPath.show(newName)) }
                } else if existing.isDirectory {
                    throw SnapshotError.isADirectory(RepoPath.show(newName))
                }
                existing.parent = nil
            }
            try setEntries(source) { $0.removeValue(forKey: name) }
            try setEntries(target) { $0[newName] = node }
            node.parent = target
            namesChanged(source)
            if target !== source { namesChanged(target) }
        }
    }

    // MARK: Contents

    /// Writes at `offset`; a gap past the end reads as zeros.
    public func write(_ node: WorkNode, _ bytes: UnsafeRawBufferPointer, at offset: Int) throws {
        try stageOutsideTheLock(node)
        try locked {
            try live(node)
            guard node.mode.isFile else { throw SnapshotError.isADirectory("not a file") }
            let end = offset + bytes.count
            if case .bytes(var data) = node.content, end <= Self.smallFile,
               memoryBytes + max(0, end - data.count) <= Self.memoryBudget {
                node.content = .blob(.zero)  // let `data` be the only reference while it changes
                memoryBytes += max(0, end - data.count)
                if end > data.count { data.append(contentsOf: repeatElement(0, count: end - data.count)) }
                data.withUnsafeMutableBytes { $0.baseAddress!.advanced(by: offset).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
                node.content = .bytes(data)
            } else {
                try failing(node) { try staged(node).write(bytes, at: offset) }
            }
            fileChanged(node)
        }
    }

    /// `truncate`/`ftruncate`: shrinks, or grows with zeros.
    public func truncate(_ node: WorkNode, to length: Int) throws {
        guard length >= 0 else { throw SnapshotError.invalidArgument("negative size") }
        if length > 0 { try stageOutsideTheLock(node) }
        try locked {
            try live(node)
            guard node.mode.isFile else { throw SnapshotError.isADirectory("not a file") }
            if case .bytes(var data) = node.content, length <= Self.smallFile,
               memoryBytes + max(0, length - data.count) <= Self.memoryBudget {
                memoryBytes += length - data.count
                if length < data.count { data.removeSubrange(length...) } else { data.append(contentsOf: repeatElement(0, count: length - data.count)) }
                node.content = .bytes(data)
            } else if length == 0, !node.isStaged {
                if case .blob(let id) = node.content { node.original = id }
                forgetBytes(node)
                node.content = .bytes([])
            } else {
                try failing(node) { try staged(node).truncate(length) }
            }
            if length == 0 { node.failedWrite = false }
            fileChanged(node)
        }
    }

    /// Reserves space for `length` bytes (`fallocate` mode 0): grows the file if shorter.
    public func allocate(_ node: WorkNode, length: Int) throws {
        try stageOutsideTheLock(node)
        try locked {
            try live(node)
            guard node.mode.isFile else { throw SnapshotError.isADirectory("not a file") }
            try failing(node) { try staged(node).allocate(length) }
            fileChanged(node)
        }
    }

    /// `chmod`: a file is executable if any execute bit is set; other bits have no place in Git.
    public func setExecutable(_ node: WorkNode, _ executable: Bool) throws {
        try locked {
            try live(node)
            guard node.mode.isFile else { return }
            let mode: FileMode = executable ? .executable : .file
            guard mode != node.mode else { return }
            node.mode = mode
            fileChanged(node)
        }
    }

    /// `utimens`: kept while the mount runs (Git stores no times).
    /// `utimensat`: each time given is kept exactly (nil leaves it); `ctime` becomes now.
    public func setTimes(_ node: WorkNode, modified: Timestamp?, accessed: Timestamp?) {
        locked {
            if let modified { node.times.modified = modified }
            if let accessed { node.times.accessed = accessed }
            node.times.changed = .now
        }
    }

    /// Counts descriptors open for writing (for the quiet-mount commit). A node being
    /// written is never superseded, so the check here covers every later write through it.
    public func openedForWriting(_ node: WorkNode) throws {
        try locked {
            try live(node)
            node.writers += 1
            openWriters += 1
        }
    }
    /// The matching close of `openedForWriting`; the quiet-mount timer starts again from here.
    /// Returns whether the file is now a large file no one has open for writing and whose
    /// content is not stored yet: worth `storeClosedLargeFiles` at once.
    @discardableResult
    public func closedForWriting(_ node: WorkNode) -> Bool {
        locked {
            node.writers -= 1
            openWriters -= 1
            lastChange = Self.now()
            guard node.writers == 0, case .staged(let file) = node.content else { return false }
            return file.blob == nil && file.size > ObjectSink.largeBlob && !node.failedWrite
        }
    }
}
