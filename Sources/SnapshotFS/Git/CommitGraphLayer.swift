import Foundation

/// One commit-graph file: `objects/info/commit-graph`, or one layer of a split chain
/// (`objects/info/commit-graphs/graph-HASH.graph`). Format: gitformat-commit-graph(5).
///
/// Only what a first-parent walk needs is read: the sorted commit names, each commit's root
/// tree, first parent and commit time, and its changed-path Bloom filter. The file is mapped
/// and validated at open (header, chunk table, sizes); positions and filter offsets read later
/// are checked on each use, and a bad one answers nil, so a damaged or crafted file costs a
/// walk from the commit objects instead, never a wrong read outside the file.
final class CommitGraphLayer: Sendable {
    /// Bloom filter settings of this file (its BDAT header).
    struct BloomSettings: Sendable, Equatable {
        let hashVersion: UInt32
        let hashCount: Int
    }

    private let file: MappedFile
    /// Commits in this file, and in the layers below it (this file's positions start there).
    let count: Int
    let base: Int
    private let fanout: Int, names: Int, data: Int
    private let bloomIndex: Int?, bloomData: Int?, bloomDataEnd: Int
    let bloom: BloomSettings?

    private static let noParent: UInt32 = 0x7000_0000

    init?(path: String, base: Int, layersBelow: Int) {
        guard let file = MappedFile(path: path),
              file.bytes(at: 0, count: 4).map({ Array($0) }) == Array("CGPH".utf8),
              let header = file.bytes(at: 4, count: 4),
              header[0] == 1, header[1] == 1,  // version 1, SHA-1
              Int(header[3]) == layersBelow else { return nil }
        var chunks: [UInt32: (start: Int, end: Int)] = [:]
        let chunkCount = Int(header[2])
        for i in 0..<chunkCount {
            guard let id = file.u32(at: 8 + i * 12), let start = file.u64(at: 12 + i * 12),
                  let end = file.u64(at: 12 + (i + 1) * 12), start <= end, end <= UInt64(file.count) else { return nil }
            chunks[id] = (Int(start), Int(end))
        }
        func chunk(_ name: String) -> (start: Int, end: Int)? {
            chunks[Array(name.utf8).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }]
        }
        guard let oidf = chunk("OIDF"), oidf.end - oidf.start == 1024,
              let total = file.u32(at: oidf.start + 1020),
              let oidl = chunk("OIDL"), oidl.end - oidl.start == Int(total) * 20,
              let cdat = chunk("CDAT"), cdat.end - cdat.start == Int(total) * 36 else { return nil }
        var previous: UInt32 = 0
        for b in 0..<256 {  // a fan-out that goes down would send a search outside its bucket
            guard let value = file.u32(at: oidf.start + b * 4), value >= previous else { return nil }
            previous = value
        }
        self.file = file
        self.base = base
        count = Int(total)
        fanout = oidf.start
        names = oidl.start
        data = cdat.start
        if let bidx = chunk("BIDX"), bidx.end - bidx.start == count * 4, let bdat = chunk("BDAT"), bdat.end - bdat.start >= 12,
           let version = file.u32(at: bdat.start), let hashes = file.u32(at: bdat.start + 4), (1...32).contains(hashes) {
            bloomIndex = bidx.start
            bloomData = bdat.start + 12
            bloomDataEnd = bdat.end
            bloom = BloomSettings(hashVersion: version, hashCount: Int(hashes))
        } else {
            bloomIndex = nil
            bloomData = nil
            bloomDataEnd = 0
            bloom = nil
        }
    }

    /// The index of `id` in this file, by binary search in its fan-out bucket.
    func index(of id: ObjectID) -> Int? {
        id.withBytes { key -> Int? in
            let first = Int(key[0])
            guard var low = first == 0 ? 0 : file.u32(at: fanout + (first - 1) * 4).map(Int.init),
                  var high = file.u32(at: fanout + first * 4).map(Int.init), high <= count else { return nil }
            while low < high {
                let mid = (low + high) / 2
                guard let name = file.bytes(at: names + mid * 20, count: 20) else { return nil }
                let order = memcmp(name.baseAddress!, key.baseAddress!, 20)
                if order == 0 { return mid }
                if order < 0 { low = mid + 1 } else { high = mid }
            }
            return nil
        }
    }

    /// What the commit at `index` records: its name, root tree, first parent's position in
    /// the whole chain (nil for a root commit) and commit time. Nil if the record is damaged.
    func commit(at index: Int) -> (id: ObjectID, tree: ObjectID, firstParent: Int?, time: Int64)? {
        guard index >= 0, index < count, let id = file.objectID(at: names + index * 20) else { return nil }
        let record = data + index * 36
        guard let tree = file.objectID(at: record), let parent = file.u32(at: record + 20),
              let high = file.u32(at: record + 28), let low = file.u32(at: record + 32) else { return nil }
        let time = Int64(high & 0x3) << 32 | Int64(low)
        // The first parent is always a position; only the second may point at the edge list.
        guard parent == Self.noParent || parent & 0x8000_0000 == 0 else { return nil }
        return (id, tree, parent == Self.noParent ? nil : Int(parent), time)
    }

    /// The changed-path Bloom filter of the commit at `index` (against its first parent),
    /// nil if this file has none or its offsets are damaged.
    func bloomFilter(at index: Int) -> UnsafeRawBufferPointer? {
        guard let bloomIndex, let bloomData, index >= 0, index < count,
              let end = file.u32(at: bloomIndex + index * 4).map(Int.init) else { return nil }
        let start = index == 0 ? 0 : file.u32(at: bloomIndex + (index - 1) * 4).map(Int.init) ?? -1
        guard start >= 0, start <= end, bloomData + end <= bloomDataEnd else { return nil }
        return file.bytes(at: bloomData + start, count: end - start)
    }
}
