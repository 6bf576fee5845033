import Foundation

/// Where packed objects are: the repository's `objects/pack/*.idx` files (version 2), read in
/// place, so that a large packed blob can be streamed from its pack (`PackStream`) instead
/// of being inflated whole by libgit2 1.5, which cannot stream packed objects.
///
/// Thread-safe: the list of indexes is under `lock`; each index is immutable once read. A
/// miss rescans the directory (at most once a second), since `git gc`, a fetch or our own
/// batches add packs while the mount runs.
final class PackIndexes: @unchecked Sendable {
    // @unchecked: `indexes` and `scanned` are under `lock`.
    private let packDirectory: String
    private let lock = NSLock()
    private var indexes: [String: PackIndex] = [:]
    private var scanned = -Double.infinity

    init(objectsDirectory: String) { packDirectory = objectsDirectory + "/pack" }

    /// The pack file holding `id` and the entry's offset in it; nil when no pack has it.
    func locate(_ id: ObjectID) -> (pack: String, offset: Int)? {
        lock.lock()
        defer { lock.unlock() }
        if let hit = search(id) { return hit }
        let now = ProcessInfo.processInfo.systemUptime
        guard now - scanned >= 1 else { return nil }
        scanned = now
        let names = (try? FileManager.default.contentsOfDirectory(atPath: packDirectory)) ?? []
        let present = Set(names.filter { $0.hasSuffix(".idx") })
        indexes = indexes.filter { present.contains($0.key) }
        for name in present where indexes[name] == nil {
            if let index = PackIndex(path: "\(packDirectory)/\(name)") { indexes[name] = index }
        }
        return search(id)
    }

    private func search(_ id: ObjectID) -> (pack: String, offset: Int)? {
        for index in indexes.values {
            if let offset = index.offset(of: id) { return (index.packPath, offset) }
        }
        return nil
    }
}

/// One `.idx` file (version 2): fan-out table, sorted object names, CRCs, 31-bit offsets and
/// the 64-bit offsets they may point into. Read whole (24-28 bytes per object) and searched
/// by binary search.
final class PackIndex: Sendable {
    let packPath: String
    private let data: [UInt8]
    private let count: Int

    init?(path: String) {
        guard let contents = FileManager.default.contents(atPath: path) else { return nil }
        let bytes = [UInt8](contents)
        // \377tOc, version 2; version 1 indexes (no magic) are left to libgit2.
        guard bytes.count >= 8 + 1024, bytes[0..<4] == [0xFF, 0x74, 0x4F, 0x63], Self.u32(bytes, 4) == 2 else { return nil }
        count = Int(Self.u32(bytes, 8 + 255 * 4))
        guard bytes.count >= 8 + 1024 + count * 28 + 40 else { return nil }
        data = bytes
        packPath = String(path.dropLast(4)) + ".pack"
    }

    static func u32(_ b: [UInt8], _ at: Int) -> UInt32 {
        UInt32(b[at]) << 24 | UInt32(b[at + 1]) << 16 | UInt32(b[at + 2]) << 8 | UInt32(b[at + 3])
    }

    func offset(of id: ObjectID) -> Int? {
        let key = id.bytes
        let first = Int(key[0])
        var low = first == 0 ? 0 : Int(Self.u32(data, 8 + (first - 1) * 4))
        var high = Int(Self.u32(data, 8 + first * 4))
        let names = 8 + 1024
        while low < high {
            let mid = (low + high) / 2
            let at = names + mid * 20
            var order = 0
            for i in 0..<20 where data[at + i] != key[i] {
                order = data[at + i] < key[i] ? -1 : 1
                break
            }
            if order == 0 {
                let offsets = names + count * 24
                let small = Self.u32(data, offsets + mid * 4)
                guard small & 0x8000_0000 != 0 else { return Int(small) }
                let large = offsets + count * 4 + Int(small & 0x7FFF_FFFF) * 8
                return Int(Self.u32(data, large)) << 32 | Int(Self.u32(data, large + 4))
            }
            if order < 0 { low = mid + 1 } else { high = mid }
        }
        return nil
    }
}
