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
        if isGitDir(name) { throw SnapshotError.invalidPath("\(show(name)) is reserved by Git") }
    }

    /// `.git` in any letter case, which `git fsck` and every checkout refuse.
    public static func isGitDir(_ name: [UInt8]) -> Bool {
        name.count == 4 && name[0] == 0x2E && name[1] | 0x20 == 0x67 && name[2] | 0x20 == 0x69 && name[3] | 0x20 == 0x74
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
