/// The keys git's changed-path Bloom filters are queried with, for one path: the path and
/// each folder above it ("a/b/c", "a/b", "a"), each hashed as git does (murmur3, 32 bits,
/// seeds 0x293ae76f and 0x7e646e2c, double hashing: key i = h0 + i * h1).
///
/// Hash version 1 (what git before 2.42 writes) hashed bytes as C `char`, which is signed on
/// most machines: its keys for a path with a byte of 0x80 or more depend on the machine that
/// wrote them, so such a path is not looked up in a version 1 filter (git 2.42 does the same).
struct BloomKeys: Sendable {
    private let paths: [[UInt8]]

    init(_ path: RepoPath) {
        var paths: [[UInt8]] = []
        var prefix: [UInt8] = []
        for (i, name) in path.components.enumerated() {
            if i > 0 { prefix.append(UInt8(ascii: "/")) }
            prefix += name
            paths.append(prefix)
        }
        self.paths = paths
    }

    /// The bit positions to test, one list per key; nil if this version cannot be used.
    func hashes(for settings: CommitGraphLayer.BloomSettings) -> [[UInt32]]? {
        guard settings.hashVersion == 1 || settings.hashVersion == 2, !paths.isEmpty else { return nil }
        if settings.hashVersion == 1, paths.last!.contains(where: { $0 >= 0x80 }) { return nil }
        return paths.map { key in
            let h0 = Self.murmur3(key, seed: 0x293a_e76f)
            let h1 = Self.murmur3(key, seed: 0x7e64_6e2c)
            return (0..<settings.hashCount).map { h0 &+ UInt32($0) &* h1 }
        }
    }

    /// Whether every bit of `key` is set in `filter`. An empty filter knows nothing (git
    /// answers "maybe" for it).
    static func contains(_ filter: UnsafeRawBufferPointer, _ key: [UInt32]) -> Bool {
        let bits = UInt64(filter.count) * 8
        guard bits > 0 else { return true }
        for hash in key {
            let bit = UInt64(hash) % bits
            if filter[Int(bit / 8)] & (1 << UInt8(bit % 8)) == 0 { return false }
        }
        return true
    }

    /// MurmurHash3 x86 32-bit.
    static func murmur3(_ data: [UInt8], seed: UInt32) -> UInt32 {
        let c1: UInt32 = 0xcc9e_2d51, c2: UInt32 = 0x1b87_3593
        func mix(_ k: UInt32) -> UInt32 { ((k &* c1) << 15 | (k &* c1) >> 17) &* c2 }
        var h = seed
        let blocks = data.count / 4
        for i in 0..<blocks {
            let k = UInt32(data[4 * i]) | UInt32(data[4 * i + 1]) << 8 | UInt32(data[4 * i + 2]) << 16 | UInt32(data[4 * i + 3]) << 24
            h ^= mix(k)
            h = (h << 13 | h >> 19) &* 5 &+ 0xe654_6b64
        }
        var tail: UInt32 = 0
        let rest = data.count & 3
        if rest == 3 { tail ^= UInt32(data[4 * blocks + 2]) << 16 }
        if rest >= 2 { tail ^= UInt32(data[4 * blocks + 1]) << 8 }
        if rest >= 1 {
            tail ^= UInt32(data[4 * blocks])
            h ^= mix(tail)
        }
        h ^= UInt32(truncatingIfNeeded: data.count)
        h ^= h >> 16
        h = h &* 0x85eb_ca6b
        h ^= h >> 13
        h = h &* 0xc2b2_ae35
        h ^= h >> 16
        return h
    }
}
