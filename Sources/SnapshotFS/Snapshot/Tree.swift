/// One entry of a Git tree: a name (bytes, as Git and Linux allow any but `/` and NUL),
/// what it is, and the object it names.
public struct TreeEntry: Sendable, Equatable {
    /// Bytes, as stored.
    public let name: [UInt8]
    /// What the entry is.
    public let mode: FileMode
    /// The blob or tree it names.
    public let id: ObjectID

    /// An entry; the name is not validated here (trees are validated when written).
    public init(name: [UInt8], mode: FileMode, id: ObjectID) {
        self.name = name
        self.mode = mode
        self.id = id
    }

    /// The name as text; bytes that are not UTF-8 show as U+FFFD (use `name` to keep them).
    public var nameString: String { String(decoding: name, as: UTF8.self) }
}

/// A parsed tree object. Immutable and named by its content, so one copy is shared by every
/// snapshot and thread that reads it. Entries are kept in plain byte order for binary search;
/// Git's own order (directories compare as if they ended in `/`) is used only to serialise.
public final class Tree: Sendable {
    /// The entries in byte order of their names.
    public let entries: [TreeEntry]

    init(entries: [TreeEntry]) {
        self.entries = entries.sorted { $0.name.lexicographicallyPrecedes($1.name) }
    }

    /// Bytes this tree holds, roughly: the object, and per entry its slot and its name's array.
    var memoryCost: Int { 48 + entries.reduce(0) { $0 + MemoryLayout<TreeEntry>.stride + 32 + $1.name.count } }

    /// The empty tree, which every Git implementation knows without storing it.
    public static let empty = Tree(entries: [])

    /// The entry called `name`, found by binary search; nil if none.
    public subscript(name: [UInt8]) -> TreeEntry? {
        var low = 0
        var high = entries.count
        while low < high {
            let mid = (low + high) / 2
            let candidate = entries[mid].name
            if candidate == name { return entries[mid] }
            if candidate.lexicographicallyPrecedes(name) { low = mid + 1 } else { high = mid }
        }
        return nil
    }

    /// Subdirectories, for `st_nlink` (2 + this).
    public var directoryCount: Int { entries.reduce(0) { $0 + ($1.mode.isDirectory ? 1 : 0) } }

    /// Parses Git's tree format: `<octal mode> <name>\0<20-byte id>`, repeated.
    ///
    /// This is where names from a repository enter every view (the branch, history, merges,
    /// commits): an entry git would refuse to check out (`RepoPath.isServable`) is left out,
    /// and so is a second entry of one name, so no view shows it and no tree written from
    /// this one holds it.
    static func parse(_ data: [UInt8], id: ObjectID) throws -> Tree {
        var entries: [TreeEntry] = []
        try scan(data, id: id) { name, mode, oid in
            let name = Array(name)
            if RepoPath.isServable(name) { entries.append(TreeEntry(name: name, mode: mode, id: oid)) }
            return true
        }
        let tree = Tree(entries: entries)
        guard zip(tree.entries, tree.entries.dropFirst()).contains(where: { $0.name == $1.name }) else { return tree }
        var seen = Set<[UInt8]>()
        return Tree(entries: entries.filter { seen.insert($0.name).inserted })
    }

    /// The entry called `name` in a tree's raw bytes, without parsing the rest: what history
    /// walks use, which look up one name in thousands of trees. `name` must be servable (it
    /// comes from a `RepoPath`); the first entry of that name wins, as in `parse`.
    static func find(_ name: [UInt8], in data: [UInt8], id: ObjectID) throws -> TreeEntry? {
        var found: TreeEntry?
        try scan(data, id: id) { candidate, mode, oid in
            guard candidate.elementsEqual(name) else { return true }
            found = TreeEntry(name: name, mode: mode, id: oid)
            return false
        }
        return found
    }

    /// Calls `body` with each entry of Git's tree format (`<octal mode> <name>\0<20-byte id>`,
    /// repeated), in stored order, until it answers false.
    private static func scan(_ data: [UInt8], id: ObjectID, _ body: (ArraySlice<UInt8>, FileMode, ObjectID) throws -> Bool) throws {
        var i = 0
        let n = data.count
        while i < n {
            var mode: UInt32 = 0
            while i < n, data[i] != 0x20 {
                let digit = data[i] &- 0x30
                guard digit < 8 else { throw SnapshotError.git(code: -1, klass: 0, message: "corrupt tree \(id)") }
                mode = mode << 3 | UInt32(digit)
                i += 1
            }
            i += 1
            let nameStart = i
            while i < n, data[i] != 0 { i += 1 }
            guard i + 21 <= n, let oid = ObjectID(bytes: data[(i + 1)..<(i + 21)]) else {
                throw SnapshotError.git(code: -1, klass: 0, message: "corrupt tree \(id)")
            }
            guard try body(data[nameStart..<i], FileMode(parsing: mode), oid) else { return }
            i += 21
        }
    }

    /// Git's serialised form of these entries, in Git's order.
    static func serialize(_ entries: [TreeEntry]) -> [UInt8] {
        let ordered = entries.sorted(by: gitOrder)
        var out: [UInt8] = []
        out.reserveCapacity(ordered.reduce(0) { $0 + $1.name.count + 28 })
        for entry in ordered {
            out.append(contentsOf: entry.mode.treeText)
            out.append(0x20)
            out.append(contentsOf: entry.name)
            out.append(0)
            entry.id.withBytes { out.append(contentsOf: $0) }
        }
        return out
    }

    /// Git sorts a tree's entries by name, comparing a directory as if its name ended in `/`.
    static func gitOrder(_ a: TreeEntry, _ b: TreeEntry) -> Bool {
        let common = min(a.name.count, b.name.count)
        for i in 0..<common where a.name[i] != b.name[i] { return a.name[i] < b.name[i] }
        let nextA: UInt8 = a.name.count > common ? a.name[common] : (a.mode == .directory ? 0x2F : 0)
        let nextB: UInt8 = b.name.count > common ? b.name[common] : (b.mode == .directory ? 0x2F : 0)
        return nextA < nextB
    }
}
