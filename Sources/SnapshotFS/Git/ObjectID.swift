import CGit2

/// A Git object name (SHA-1), kept as plain bytes so it is cheap to hash, compare and share
/// between threads, unlike libgit2's `git_oid`, which is only ever a temporary here.
public struct ObjectID: Hashable, Sendable, Comparable, CustomStringConvertible {
    // 20 bytes as three words: hashing and equality are three integer operations.
    private var a: UInt64
    private var b: UInt64
    private var c: UInt32

    /// The empty tree's name, which every Git implementation knows without storing it.
    public static let emptyTree = ObjectID(hex: "4b825dc642cb6eb9a060e54bf8d69288fbee4904")!
    /// Forty zeros: "no object", as in reflog lines for a ref's creation.
    public static let zero = ObjectID(bytes: [UInt8](repeating: 0, count: 20))!

    /// From the 20 raw bytes; nil for any other length.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 20 else { return nil }
        var raw = (UInt64(0), UInt64(0), UInt32(0))
        withUnsafeMutableBytes(of: &raw) { buffer in
            for (i, byte) in bytes.enumerated() { buffer[i] = byte }
        }
        (a, b, c) = raw
    }

    /// Parses 40 hexadecimal digits (either case).
    public init?(hex: some StringProtocol) {
        self.init(hexBytes: Array(hex.utf8)[...])
    }

    init?(hexBytes utf8: ArraySlice<UInt8>) {
        guard utf8.count == 40 else { return nil }
        var raw = (UInt64(0), UInt64(0), UInt32(0))
        let ok = withUnsafeMutableBytes(of: &raw) { out -> Bool in
            var j = utf8.startIndex
            for i in 0..<20 {
                guard let hi = hexValue(utf8[j]), let lo = hexValue(utf8[j + 1]) else { return false }
                out[i] = hi << 4 | lo
                j += 2
            }
            return true
        }
        guard ok else { return nil }
        (a, b, c) = raw
    }

    init(_ oid: git_oid) {
        var copy = oid
        self = withUnsafeBytes(of: &copy.id) { ObjectID(bytes: $0)! }
    }

    /// The libgit2 form, for the duration of a call.
    var git: git_oid {
        var oid = git_oid()
        withUnsafeMutableBytes(of: &oid.id) { out in
            withBytes { out.copyMemory(from: $0) }
        }
        return oid
    }

    /// The first byte, which indexes a pack index's fan-out table.
    var firstByte: UInt8 { UInt8(truncatingIfNeeded: a) }
    /// The first 8 bytes as a number: a version stamp for caches keyed by commit.
    public var prefix64: UInt64 { a }

    /// The 20 raw bytes, as a Git tree entry stores them.
    public var bytes: [UInt8] { withBytes { Array($0) } }

    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        var raw = (a, b, c)
        return try withUnsafeBytes(of: &raw) { try body(UnsafeRawBufferPointer(rebasing: $0[0..<20])) }
    }

    /// Forty lowercase hex digits, as Git prints it.
    public var hex: String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(40)
        withBytes { for byte in $0 { out.append(digits[Int(byte >> 4)]); out.append(digits[Int(byte & 15)]) } }
        return String(decoding: out, as: UTF8.self)
    }

    /// The seven-digit abbreviation `git log --oneline` shows.
    public var shortHex: String { String(hex.prefix(7)) }
    /// The full hex name.
    public var description: String { hex }

    /// Byte order, which is hex order: what a sorted pack index uses.
    public static func < (lhs: ObjectID, rhs: ObjectID) -> Bool {
        lhs.withBytes { l in rhs.withBytes { r in l.lexicographicallyPrecedes(r) } }
    }
}

func hexValue(_ c: UInt8) -> UInt8? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
    default: return nil
    }
}
