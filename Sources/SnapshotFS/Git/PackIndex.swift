import Foundation

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
            if order == 0 { return offset(at: mid) }
            if order < 0 { low = mid + 1 } else { high = mid }
        }
        return nil
    }
}

extension PackIndex {
    /// The offset of every object of the pack, in the order of their names.
    var offsets: [Int] { (0..<count).compactMap(offset(at:)) }

    /// The offset of the `index`th object: 31 bits, or a pointer into the 64-bit table; nil
    /// where that pointer leads outside the file (a damaged or crafted index).
    private func offset(at index: Int) -> Int? {
        let table = 8 + 1024 + count * 24
        let small = Self.u32(data, table + index * 4)
        guard small & 0x8000_0000 != 0 else { return Int(small) }
        let large = table + count * 4 + Int(small & 0x7FFF_FFFF) * 8
        guard large + 8 <= data.count else { return nil }
        return Int(Self.u32(data, large)) << 32 | Int(Self.u32(data, large + 4))
    }
}

extension PackIndex {
    /// The name of every object of the pack.
    var names: [ObjectID] {
        let table = 8 + 1024
        return (0..<count).compactMap { ObjectID(bytes: Array(data[(table + $0 * 20)..<(table + $0 * 20 + 20)])) }
    }
}
