import Foundation

/// The packs of `objects/pack`, each named by its path without a suffix (`.../pack-X`): the
/// files that make one, listing them, what they hold, removing one.
enum PackFolder {
    /// A pack's files, in the order they are removed: the index first, so that a reader
    /// scanning the folder never finds an index whose pack is gone.
    static let suffixes = [".idx", ".pack", ".rev", ".bitmap", ".promisor", ".keep"]

    /// Removes a pack's files; true when none is left (a file that cannot be removed stops
    /// the removal, and the pack stays usable or is removed at the next try).
    @discardableResult
    static func remove(_ key: String) -> Bool {
        suffixes.allSatisfy { unlink(key + $0) == 0 || errno == ENOENT }
    }

    /// Bytes on disk of a pack's files.
    static func size(_ key: String) -> Int {
        var info = stat()
        return suffixes.reduce(0) { $0 + (lstat(key + $1, &info) == 0 ? Int(info.st_blocks) * 512 : 0) }
    }

    /// The promisor packs of the folder (each with its index and pack), with whether each
    /// has a `.keep`; nil when the folder cannot be listed.
    static func promisorPacks(in folder: String) -> [(key: String, kept: Bool)]? {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return nil }  // said by nil
        let present = Set(names)
        return names.filter { $0.hasSuffix(".promisor") }.map { String($0.dropLast(9)) }
            .filter { present.contains($0 + ".pack") && present.contains($0 + ".idx") }
            .map { ("\(folder)/\($0)", present.contains($0 + ".keep")) }
    }

    /// Every object the packs hold; nil when an index cannot be read.
    static func objects(of keys: some Sequence<String>) -> Set<ObjectID>? {
        var all = Set<ObjectID>()
        for key in keys {
            guard let index = PackIndex(path: key + ".idx") else { return nil }
            all.formUnion(index.names)
        }
        return all
    }
}
