import Foundation

/// One notes namespace, `refs/notes/<name>`: text attached to commits (vost's `store.notes`).
///
/// Keys are commit names (40 hex) or branch/tag names, which mean their tip commit. Notes are
/// stored as Git does: a commit whose tree maps commit names to blobs. We write flat trees
/// (one entry per note); we read flat and Git's 2/38 fan-out alike.
public struct NoteNamespace: Sendable {
    let store: Store
    /// The namespace's name: notes live in `refs/notes/<name>`.
    public let name: String

    var ref: String { "refs/notes/\(name)" }

    /// The note of `target` (a commit name, or a branch or tag meaning its tip); nil if none.
    public func get(_ target: String) throws -> String? {
        let key = try resolve(target)
        guard let blob = try notes()[key] else { return nil }
        return String(decoding: try store.blob(blob), as: UTF8.self)
    }

    /// Same as `get`.
    public subscript(target: String) -> String? { get throws { try get(target) } }

    /// Sets the note of `target`, replacing any; one notes commit.
    public func set(_ target: String, _ text: String) throws {
        try batch { try $0.set(target, text) }
    }

    /// Deletes the note of `target`; `notFound` if it has none.
    public func delete(_ target: String) throws {
        try batch { try $0.delete(target) }
    }

    /// Whether `target` has a note.
    public func contains(_ target: String) throws -> Bool { try get(target) != nil }

    /// All notes, by commit.
    public func all() throws -> [ObjectID: String] {
        try notes().mapValues { String(decoding: try store.blob($0), as: UTF8.self) }
    }

    /// How many commits have a note.
    public var count: Int { get throws { try notes().count } }

    /// Many changes to this namespace as one notes commit.
    public func batch(_ body: (NotesBatch) throws -> Void) throws {
        let tip = try store.git { try $0.resolve(ref: ref) }
        let batch = NotesBatch(namespace: self, notes: try notes(at: tip))
        try body(batch)
        guard batch.changes > 0 else { return }
        let entries = batch.notes.map { TreeEntry(name: Array($0.key.hex.utf8), mode: .file, id: $0.value) }
        let tree = try store.writeTree(entries)
        let message = batch.message
        let commit = try store.writeCommit(tree: tree, parents: tip.map { [$0] } ?? [], message: message)
        try store.updatingRefs { try $0.updateRef(ref, to: commit, expected: tip, message: "notes: \(message)") }
    }

    func resolve(_ target: String) throws -> ObjectID {
        if let id = ObjectID(hex: target) { return id }
        if let snapshot = try store.branches.lookup(target) { return snapshot.commitID }
        if let snapshot = try store.tags.lookup(target) { return snapshot.commitID }
        throw SnapshotError.invalidRevision("\(target) is not a commit name, branch or tag")
    }

    func notes(at tip: ObjectID? = nil) throws -> [ObjectID: ObjectID] {
        guard let tip = try tip ?? store.git({ try $0.resolve(ref: ref) }) else { return [:] }
        var out: [ObjectID: ObjectID] = [:]
        func scan(_ tree: ObjectID, prefix: String) throws {
            for entry in try store.tree(tree).entries {
                let name = prefix + entry.nameString
                if entry.mode == .directory { try scan(entry.id, prefix: name) }
                else if let id = ObjectID(hex: name) { out[id] = entry.id }
            }
        }
        try scan(store.commit(tip).tree, prefix: "")
        return out
    }
}

/// The pending changes of `NoteNamespace.batch`.
public final class NotesBatch {
    let namespace: NoteNamespace
    var notes: [ObjectID: ObjectID]
    var changes = 0
    private var lastTarget: ObjectID?
    private var removed = false

    init(namespace: NoteNamespace, notes: [ObjectID: ObjectID]) {
        self.namespace = namespace
        self.notes = notes
    }

    /// Sets the note of `target` in this batch.
    public func set(_ target: String, _ text: String) throws {
        let key = try namespace.resolve(target)
        notes[key] = try namespace.store.writeBlob(Array(text.utf8))
        changes += 1
        lastTarget = key
    }

    /// Deletes the note of `target` in this batch; `notFound` if it has none.
    public func delete(_ target: String) throws {
        let key = try namespace.resolve(target)
        guard notes.removeValue(forKey: key) != nil else { throw SnapshotError.notFound("note for \(target)") }
        changes += 1
        lastTarget = key
        removed = true
    }

    /// The messages `git notes` and vost write.
    var message: String {
        if changes == 1, let target = lastTarget {
            return removed ? "Notes removed by 'git notes' on \(target.shortHex)" : "Notes added by 'git notes' on \(target.shortHex)"
        }
        return "Notes batch update (\(changes) changes)"
    }
}

extension Store {
    /// The notes namespaces that exist (`refs/notes/*`), sorted.
    public func notesNamespaces() throws -> [String] {
        try git { try $0.refNames(under: "refs/notes/") }.map { String($0.dropFirst("refs/notes/".count)) }
    }

    /// Whether `refs/notes/<name>` is a valid ref name.
    public func isValidNotesNamespace(_ name: String) -> Bool {
        !name.contains(":") && git { $0.isValidRefName("refs/notes/\(name)") }
    }
}
