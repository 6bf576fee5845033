/// Which paths `.gitattributes` sends to Git LFS (`filter=lfs`), matched as git matches them.
///
/// Rules come from the `.gitattributes` of each directory on the way to a path, shallow to
/// deep, then `$GIT_DIR/info/attributes`; the last rule whose pattern matches decides (a
/// deeper file overrides a shallower one, a later line an earlier one). `filter=lfs` sets,
/// `-filter`, `!filter` or another value clears. Patterns are gitignore's, without negation:
/// one with no `/` matches the name at any depth below its file's directory; one with a `/`
/// is anchored there, where `*` does not cross `/` and a `**` segment is any number of
/// directories; a trailing `/` matches directories only, so never a file (as in git).
public struct LFSRules: Sendable {
    struct Rule: Sendable {
        let base: RepoPath
        let segments: [String]
        let anchored: Bool
        let lfs: Bool
    }

    private(set) var rules: [Rule] = []
    /// `$GIT_DIR/info/attributes`: after every `.gitattributes`, whatever the depth.
    private var overriding: [Rule] = []

    public init(info: [UInt8] = []) {
        overriding = Self.parse(info, base: .root)
    }

    /// The rules of one attributes file, in the directory `base`, added after the current ones.
    public func adding(_ text: [UInt8], base: RepoPath) -> LFSRules {
        var next = self
        next.rules += Self.parse(text, base: base)
        return next
    }

    public var isEmpty: Bool { rules.isEmpty && overriding.isEmpty }

    /// Whether some rule sends paths to LFS.
    var namesLFS: Bool { (rules + overriding).contains(where: \.lfs) }

    /// Whether `path` (a file) goes to LFS.
    public func matches(_ path: RepoPath) -> Bool {
        var verdict = false
        for rule in rules + overriding where path.components.count > rule.base.components.count && path.hasPrefix(rule.base) {
            let relative = Array(path.components[rule.base.components.count...]).map { String(decoding: $0, as: UTF8.self) }
            let hit = rule.anchored ? Self.match(rule.segments[...], relative[...]) : Self.match(rule.segments[...], [relative.last!][...])
            if hit { verdict = rule.lfs }
        }
        return verdict
    }

    static func parse(_ data: [UInt8], base: RepoPath) -> [Rule] {
        var out: [Rule] = []
        for raw in String(decoding: data, as: UTF8.self).split(whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            let fields = raw.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard var pattern = fields.first, !pattern.hasPrefix("#"), !pattern.hasPrefix("[attr]"), !pattern.hasPrefix("!") else { continue }
            var lfs: Bool?
            for attribute in fields.dropFirst() {
                if attribute == "filter=lfs" {
                    lfs = true
                } else if attribute == "filter" || attribute == "-filter" || attribute == "!filter" || attribute.hasPrefix("filter=") {
                    lfs = false
                }
            }
            guard let lfs, !pattern.hasSuffix("/") else { continue }
            let anchored = pattern.contains("/")
            if pattern.hasPrefix("/") { pattern.removeFirst() }
            let segments = pattern.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            guard !segments.contains(where: \.isEmpty) else { continue }
            out.append(Rule(base: base, segments: segments, anchored: anchored, lfs: lfs))
        }
        return out
    }

    /// Segment by segment; `**` is zero or more whole segments.
    static func match(_ pattern: ArraySlice<String>, _ path: ArraySlice<String>) -> Bool {
        guard let first = pattern.first else { return path.isEmpty }
        if first == "**" {
            if pattern.count == 1 { return !path.isEmpty }
            return (0...path.count).contains { match(pattern.dropFirst(), path.dropFirst($0)) }
        }
        // A pattern that is no glob (an unmatched `[`) matches nothing, as in git.
        guard let name = path.first, let glob = try? GlobPattern(first, dotMatchesWildcard: true),
              glob.matches(Array(name.utf8)) else { return false }
        return match(pattern.dropFirst(), path.dropFirst())
    }
}
