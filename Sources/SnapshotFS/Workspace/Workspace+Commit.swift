import Foundation

extension Workspace {
    /// Commits everything pending as one commit and returns it; nil when the tree did not
    /// change. If the branch moved since `base`, the batch is merged onto the new tip path by
    /// path (`TreeMerge`: both sides' changes survive; a file both changed is merged line by
    /// line when clean, else this batch, the later one, keeps the path and the other
    /// writer's version is kept beside it, named after the tip that holds it) and the
    /// workspace then shows the merged tree.
    ///
    /// The lock is held throughout, so the batch is exactly what programs saw at one instant.
    @discardableResult
    public func commit(message: String? = nil) throws -> Snapshot? {
        try storePendingFiles()
        var invalidations: [Invalidation] = []
        var conflicts: [RepoPath] = []
        let result: Snapshot? = try locked {
            guard root.committedID == nil else { return nil }
            let sink = ObjectSink(store: store)
            // writeTree marks nodes as stored before the sink has written them: if anything
            // fails before the ref moves, they go back to pending, so a failed commit (a
            // full disk, an object that cannot be stored) loses nothing and the next tries
            // again.
            var undo: [(WorkNode, WorkNode.Content, ObjectID?)] = []
            var committed = false
            defer {
                for (node, content, original) in undo.reversed() where !committed {
                    node.content = content
                    node.original = original
                    if case .staged(let file) = content { file.blob = nil }
                }
            }
            let ours = try writeTree(root, at: .root, rules: try rootRules(), sink, undo: &undo)
            try sink.flush()
            let text = message ?? nextMessage
            let changes = try store.diff(from: _base.treeID, to: ours)
            var onto = _base
            var tree = ours
            conflicts = []
            var snapshot: Snapshot? = nil
            for attempt in 0..<50 {
                do {
                    snapshot = try store.commit(onto: onto, tree: tree, changes: changes, message: text)
                    break
                } catch SnapshotError.stale {
                    if attempt > 0 { usleep(UInt32.random(in: 1_000...20_000)) }
                    onto = try store.branches.tipOrUnborn(branch)
                    let merged = try store.mergeTrees(base: _base.treeID, ours: ours, theirs: onto.treeID,
                                                      winner: .ours, tag: onto.commitID.shortHex)
                    tree = merged.tree
                    conflicts = merged.conflicts
                }
            }
            guard let snapshot else { throw SnapshotError.stale("branch \(branch) kept moving while committing") }
            committed = true
            memoryBytes = 0
            nextMessage = nil
            changedNodes.removeAll()
            if snapshot.treeID == ours {
                _base = snapshot
            } else {
                do {
                    let trees = try treesToTakeIn(snapshot.treeID)
                    _base = snapshot
                    sync(root, to: snapshot.treeID, trees, into: &invalidations)
                } catch {
                    // The merged tree cannot be read now. The commit stands (its ref moved), so
                    // this is not the commit's failure: the workspace keeps showing `ours` on its
                    // old base, which a later commit merges from correctly, and the next
                    // `refresh` takes the merged tip in (or reports the read error).
                }
            }
            return tree == onto.treeID ? nil : snapshot
        }
        if !invalidations.isEmpty { onInvalidate?(invalidations) }
        if !conflicts.isEmpty { onConflicts?(conflicts) }
        return result
    }

    /// Takes in the branch's tip if another writer moved it and nothing is pending here
    /// (pending changes are merged by the next `commit` instead). Returns whether it moved.
    @discardableResult
    public func refresh() throws -> Bool {
        var invalidations: [Invalidation] = []
        let moved: Bool = try locked {
            guard root.committedID != nil else { return false }
            guard let tip = try store.branches.get(branch), tip.commitID != _base.commitID else { return false }
            // Every tree is read before anything changes: a read error leaves the workspace
            // as it was (and is retried at the next poll), never half taken in.
            let trees = try treesToTakeIn(tip.treeID)
            _base = tip
            sync(root, to: tip.treeID, trees, into: &invalidations)
            return true
        }
        if !invalidations.isEmpty { onInvalidate?(invalidations) }
        return moved
    }

    // MARK: Writing trees

    /// Writes the pending parts of the tree bottom-up; unchanged directories cost nothing.
    func writeTree(_ dir: WorkNode, at path: RepoPath, rules: LFSRules, _ sink: ObjectSink,
                           undo: inout [(WorkNode, WorkNode.Content, ObjectID?)]) throws -> ObjectID {
        guard case .directory(let entries, nil) = dir.content else { return dir.committedID! }
        var list: [TreeEntry] = []
        list.reserveCapacity(entries.count)
        for (name, node) in entries {
            if node.failedWrite {
                if let original = node.original { list.append(TreeEntry(name: name, mode: node.mode, id: original)) }
                continue
            }
            let id: ObjectID
            switch node.content {
            case .blob(let blob), .tree(let blob): id = blob
            case .directory:
                let childPath = path.child(name)
                id = try writeTree(node, at: childPath, rules: try self.rules(in: node, at: childPath, inherited: rules), sink, undo: &undo)
            case .bytes(let bytes):
                id = try sink.add(.blob, goesToLFS(path.child(name), size: bytes.count, rules: rules) ? try store.writeLFSObject(bytes).text : bytes)
                undo.append((node, node.content, node.original))
                node.content = .blob(id)
            case .staged(let file):
                let toLFS = goesToLFS(path.child(name), size: file.size, rules: rules)
                if let known = file.blob, file.blobIsLFSPointer == toLFS {
                    id = known
                } else if toLFS {
                    id = try sink.add(.blob, try store.writeLFSObject(fromDescriptor: file.fd, size: file.size).text)
                } else if file.size <= ObjectSink.largeBlob {
                    id = try sink.add(.blob, try file.read(at: 0, count: file.size))
                } else {
                    id = try store.writeBlob(fromDescriptor: file.fd, size: file.size, at: 0)
                }
                file.blob = id
                file.blobIsLFSPointer = toLFS
                undo.append((node, node.content, node.original))
                node.original = id
                // Nobody is writing: the staged copy has done its job.
                if node.writers == 0 { node.content = .blob(id) }
            }
            list.append(TreeEntry(name: name, mode: node.mode, id: id))
        }
        let id = try sink.add(.tree, Tree.serialize(list))
        store.trees.put(id, Tree(entries: list.sorted(by: Tree.gitOrder)))
        undo.append((dir, dir.content, dir.original))
        dir.content = .directory(entries: entries, committed: id)
        return id
    }

    // MARK: Taking in another tree

    /// The trees `sync(root, to: tree)` will look into, read first so that taking a tree in
    /// cannot fail half-way: a directory that kept its old entries while its parent recorded
    /// the new tree would write the old subtree back at the next commit, undoing another
    /// writer's change. Under the lock.
    private func treesToTakeIn(_ tree: ObjectID) throws -> [ObjectID: Tree] {
        var trees: [ObjectID: Tree] = [:]
        func visit(_ dir: WorkNode, _ tree: ObjectID) throws {
            guard case .directory(let entries, let committed) = dir.content, committed != tree, trees[tree] == nil else { return }
            let fresh = try store.tree(tree)
            trees[tree] = fresh
            for entry in fresh.entries where entry.mode == .directory {
                if let old = entries[entry.name], old.isDirectory { try visit(old, entry.id) }
            }
        }
        try visit(root, tree)
        return trees
    }

    /// Makes the (clean) subtree at `dir` show `tree`, whose looked-into directories are in
    /// `trees` (`treesToTakeIn`): nodes whose content is the same stay (so open files and
    /// the kernel's caches stay right); changed ones are replaced by new nodes, the old ones
    /// `retire`d, and the kernel is told to forget the names. A file open for writing here
    /// (or a directory holding one) is kept and marked pending: it is being written, and its
    /// writer's version will win.
    private func sync(_ dir: WorkNode, to tree: ObjectID, _ trees: [ObjectID: Tree], into invalidations: inout [Invalidation]) {
        switch dir.content {
        case .tree(let id):
            if id != tree {
                dir.content = .tree(tree)
                dir.version &+= 1
                invalidations.append(.node(dir))
            }
        case .directory(var entries, let committed):
            guard committed != tree, let fresh = trees[tree] else { return }
            var keptPending = false
            var seen = Set<[UInt8]>()
            for entry in fresh.entries {
                seen.insert(entry.name)
                if let old = entries[entry.name] {
                    if old.isDirectory, entry.mode == .directory {
                        sync(old, to: entry.id, trees, into: &invalidations)
                        if old.committedID == nil { keptPending = true }
                        continue
                    }
                    if old.mode == entry.mode, old.committedID == entry.id { continue }
                    if Self.isBeingWritten(old) { keptPending = true; continue }
                    Self.retire(old)
                }
                entries[entry.name] = .committed(entry, parent: dir)
                invalidations.append(.entry(parent: dir, name: entry.name))
            }
            for (name, old) in entries where !seen.contains(name) {
                if Self.isBeingWritten(old) { keptPending = true; continue }
                entries.removeValue(forKey: name)
                Self.retire(old)
                invalidations.append(.entry(parent: dir, name: name))
            }
            dir.content = .directory(entries: entries, committed: keptPending ? nil : tree)
            dir.version &+= 1
            invalidations.append(.node(dir))
        default:
            return
        }
    }

    /// Whether a file, or any file below a directory, is open for writing. Under the lock.
    private static func isBeingWritten(_ node: WorkNode) -> Bool {
        if node.writers > 0 { return true }
        guard case .directory(let entries, _) = node.content else { return false }
        return entries.values.contains { isBeingWritten($0) }
    }

    /// Detaches a node another writer's commit replaced or removed, and everything below
    /// it that was looked into, and marks them `superseded`. Under the lock.
    private static func retire(_ node: WorkNode) {
        node.parent = nil
        func mark(_ node: WorkNode) {
            node.superseded = true
            if case .directory(let entries, _) = node.content { entries.values.forEach(mark) }
        }
        mark(node)
    }
}
