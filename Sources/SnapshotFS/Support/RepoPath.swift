/// A path inside a snapshot: a list of names, each any bytes but `/` and NUL.
///
/// Git and Linux both allow names that are not UTF-8, so a path is bytes first; `String`
/// is accepted for convenience and shown for messages. The root is the empty path.
/// Invalid on construction: `..`, an empty segment inside the path, NUL, and a `.git`
/// component in any letter case (Git itself refuses to check those out).
public struct RepoPath: Hashable, Sendable, Comparable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The names from the root down, as bytes; empty for the root.
    public let components: [[UInt8]]

    /// The tree of the commit itself.
    public static let root = RepoPath(validated: [])

    init(validated components: [[UInt8]]) { self.components = components }

    /// Parses `a/b/c`; leading and trailing slashes and `.` segments are ignored, as in vost.
    public init(_ text: String) throws {
        try self.init(bytes: Array(text.utf8))
    }

    /// Parses `a/b/c` given as bytes, so non-UTF-8 names survive; same rules as `init(_:)`.
    public init(bytes: [UInt8]) throws {
        var parts: [[UInt8]] = []
        var start = bytes.startIndex
        var end = bytes.endIndex
        while start < end, bytes[start] == 0x2F { start += 1 }
        while end > start, bytes[end - 1] == 0x2F { end -= 1 }
        if start < end {
            for part in bytes[start..<end].split(separator: 0x2F, omittingEmptySubsequences: false) {
                if part.isEmpty { throw SnapshotError.invalidPath("empty segment in \(Self.show(bytes))") }
                if part.elementsEqual([0x2E]) { continue }
                try Self.validate(name: Array(part))
                parts.append(Array(part))
            }
        }
        self.components = parts
    }

    /// For string literals in code and tests; an invalid literal is a programming error.
    public init(stringLiteral value: String) {
        do { try self.init(value) } catch { preconditionFailure("invalid path literal \(value): \(error)") }
    }

    /// Checks one name: not empty, not `.`/`..`, no `/` or NUL, not `.git` in any case.
    public static func validate(name: [UInt8]) throws {
        if name.isEmpty { throw SnapshotError.invalidPath("empty name") }
        if name == [0x2E] || name == [0x2E, 0x2E] { throw SnapshotError.invalidPath(show(name)) }
        if name.contains(0) || name.contains(0x2F) { throw SnapshotError.invalidPath(show(name)) }
        if isReservedByGit(name) { throw SnapshotError.invalidPath("\(show(name)) is reserved by Git") }
    }

    /// `.git` in any case, and its HFS and NTFS spellings (see `isServable`).
    static func isReservedByGit(_ name: [UInt8]) -> Bool { isGitDir(name) || isNTFSDotGit(name) || isHFSDotGit(name) }

    /// `.git` in any letter case, which `git fsck` and every checkout refuse.
    public static func isGitDir(_ name: [UInt8]) -> Bool {
        name.count == 4 && name[0] == 0x2E && name[1] | 0x20 == 0x67 && name[2] | 0x20 == 0x69 && name[3] | 0x20 == 0x74
    }

    /// Whether a name read from a tree may be shown: git's own `verify_path` rules for a
    /// checkout, with its HFS and NTFS protections on. Refused: empty, `.`, `..`, `/` or NUL
    /// inside, `.git` in any case, `.git` with ignorable Unicode code points anywhere in it
    /// (HFS+ drops them), and `.git` or `git~1` followed only by dots and spaces or by
    /// `:`/`\\` (NTFS drops the first and reads the rest as a stream or a folder). Such
    /// an entry in a crafted tree could make `git` run inside the mount read its config.
    public static func isServable(_ name: [UInt8]) -> Bool {
        guard !name.isEmpty, name != [0x2E], name != [0x2E, 0x2E], !name.contains(0), !name.contains(0x2F) else { return false }
        return !isReservedByGit(name)
    }

    /// git's `is_ntfs_dotgit`: `.git` or `git~1` (any case), then only `.` and ` ` up to
    /// the end, a `\\` or a `:`.
    static func isNTFSDotGit(_ name: [UInt8]) -> Bool {
        func lower(_ byte: UInt8) -> UInt8 { (0x41...0x5A).contains(byte) ? byte | 0x20 : byte }
        let folded = name.map(lower)
        let rest: ArraySlice<UInt8>
        if folded.starts(with: Array(".git".utf8)) {
            rest = folded.dropFirst(4)
        } else if folded.starts(with: Array("git~1".utf8)) {
            rest = folded.dropFirst(5)
        } else {
            return false
        }
        for byte in rest {
            if byte == 0x5C || byte == 0x3A { return true }
            if byte != 0x2E && byte != 0x20 { return false }
        }
        return true
    }

    /// git's `is_hfs_dotgit`: `.git` in any case once the code points HFS+ ignores
    /// (U+200C-200F, U+202A-202E, U+206A-206F, U+FEFF) are left out.
    static func isHFSDotGit(_ name: [UInt8]) -> Bool {
        guard name.count > 4, let text = String(validating: name, as: UTF8.self) else { return false }
        var kept: [UInt32] = []
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x200C...0x200F, 0x202A...0x202E, 0x206A...0x206F, 0xFEFF: continue
            default:
                kept.append(scalar.value)
                if kept.count > 4 { return false }
            }
        }
        return kept.count == 4 && isGitDir(kept.map { UInt8(truncatingIfNeeded: $0) }) && kept.allSatisfy { $0 < 0x80 }
    }

    /// Hashes each name as one buffer: the synthesized version fed the hasher a byte at a
    /// time, which was the largest cost of a cold `find` over 100,000 files in the mount.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(components.count)
        for name in components {
            hasher.combine(name.count)
            name.withUnsafeBytes { hasher.combine(bytes: $0) }
        }
    }

    /// Component by component, as bytes.
    public static func == (lhs: RepoPath, rhs: RepoPath) -> Bool { lhs.components == rhs.components }

    /// Whether this is the commit's tree itself.
    public var isRoot: Bool { components.isEmpty }
    /// The last component (empty for the root).
    public var name: [UInt8] { components.last ?? [] }
    /// The directory holding this path (the root is its own parent).
    public var parent: RepoPath { RepoPath(validated: Array(components.dropLast())) }

    /// This path with one more component, validated (no `/`, NUL, `.`, `..` or `.git`).
    public func appending(_ name: [UInt8]) throws -> RepoPath {
        try Self.validate(name: name)
        return RepoPath(validated: components + [name])
    }

    /// Same, with the name as text.
    public func appending(_ name: String) throws -> RepoPath { try appending(Array(name.utf8)) }

    /// `other` relative to this path, or the same path when this is root.
    /// `name` below this path, for a name already checked (an entry of a tree or workspace).
    func child(_ name: [UInt8]) -> RepoPath { RepoPath(validated: components + [name]) }

    public func appending(path other: RepoPath) -> RepoPath { RepoPath(validated: components + other.components) }

    /// Whether `other` is this path or one of its directories (component-wise, not by characters).
    public func hasPrefix(_ other: RepoPath) -> Bool {
        components.count >= other.components.count && Array(components.prefix(other.components.count)) == other.components
    }

    /// The path as bytes, `a/b/c`.
    public var bytes: [UInt8] { Array(components.joined(separator: [0x2F])) }
    /// The path as text (lossy for non-UTF-8 names); `""` for the root.
    public var string: String { String(decoding: bytes, as: UTF8.self) }
    /// `a/b/c`, or `/` for the root.
    public var description: String { isRoot ? "/" : string }

    /// Byte order of the whole path.
    public static func < (lhs: RepoPath, rhs: RepoPath) -> Bool { lhs.bytes.lexicographicallyPrecedes(rhs.bytes) }

    static func show(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
}
