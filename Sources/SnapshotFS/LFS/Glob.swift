/// Shell-style patterns over name bytes: `*`, `?`, `[abc]`, `[a-z]`, `[!x]`/`[^x]`, `\` escapes.
/// As in vost and the shell, a wildcard does not match a leading `.` of a name.
struct GlobPattern {
    private enum Token: Equatable {
        case literal(UInt8)
        case any          // ?
        case star         // *
        case set([ClosedRange<UInt8>], negated: Bool)
    }
    private let tokens: [Token]
    private let dotMatchesWildcard: Bool
    private let slashMatchesWildcard: Bool

    init(_ pattern: String, dotMatchesWildcard: Bool = false, slashMatchesWildcard: Bool = false) throws {
        self.dotMatchesWildcard = dotMatchesWildcard
        self.slashMatchesWildcard = slashMatchesWildcard
        let p = Array(pattern.utf8)
        var tokens: [Token] = []
        var i = 0
        while i < p.count {
            switch p[i] {
            case UInt8(ascii: "*"): if tokens.last != .star { tokens.append(.star) }
            case UInt8(ascii: "?"): tokens.append(.any)
            case UInt8(ascii: "\\") where i + 1 < p.count: i += 1; tokens.append(.literal(p[i]))
            case UInt8(ascii: "["):
                var j = i + 1
                var negated = false
                if j < p.count, p[j] == UInt8(ascii: "!") || p[j] == UInt8(ascii: "^") { negated = true; j += 1 }
                var ranges: [ClosedRange<UInt8>] = []
                var first = true
                while j < p.count, p[j] != UInt8(ascii: "]") || first {
                    first = false
                    let low = p[j]
                    if j + 2 < p.count, p[j + 1] == UInt8(ascii: "-"), p[j + 2] != UInt8(ascii: "]") {
                        ranges.append(min(low, p[j + 2])...max(low, p[j + 2]))
                        j += 3
                    } else {
                        ranges.append(low...low)
                        j += 1
                    }
                }
                if j >= p.count {
                    tokens.append(.literal(UInt8(ascii: "[")))  // unclosed: a literal bracket
                } else {
                    tokens.append(.set(ranges, negated: negated))
                    i = j
                }
            default: tokens.append(.literal(p[i]))
            }
            i += 1
        }
        self.tokens = tokens
    }

    var hasWildcards: Bool { tokens.contains { if case .literal = $0 { return false } else { return true } } }

    func matches(_ name: [UInt8]) -> Bool {
        if !dotMatchesWildcard, name.first == UInt8(ascii: "."), let first = tokens.first, first != .literal(UInt8(ascii: ".")) {
            return false
        }
        return match(0, name[...])
    }

    private func match(_ t: Int, _ s: ArraySlice<UInt8>) -> Bool {
        var t = t
        var s = s
        while t < tokens.count {
            switch tokens[t] {
            case .star:
                if t == tokens.count - 1 { return slashMatchesWildcard || !s.contains(0x2F) }
                var rest = s
                while true {
                    if match(t + 1, rest) { return true }
                    guard let c = rest.first, slashMatchesWildcard || c != 0x2F else { return false }
                    rest = rest.dropFirst()
                }
            case .any:
                guard let c = s.first, slashMatchesWildcard || c != 0x2F else { return false }
                s = s.dropFirst()
            case .literal(let byte):
                guard s.first == byte else { return false }
                s = s.dropFirst()
            case .set(let ranges, let negated):
                guard let c = s.first, ranges.contains(where: { $0.contains(c) }) != negated else { return false }
                s = s.dropFirst()
            }
            t += 1
        }
        return s.isEmpty
    }
}

extension Snapshot {
    /// Paths matching `pattern`, sorted. Segments are matched name by name; `**` matches any
    /// number of directories (zero included). Wildcards never match a leading `.`.
    public func glob(_ pattern: String) throws -> [String] {
        let segments = pattern.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard !segments.isEmpty else { return [] }
        var results = Set<RepoPath>()
        try glob(segments[...], in: .root, entry: TreeEntry(name: [], mode: .directory, id: treeID), into: &results)
        return results.sorted().map(\.string)
    }

    private func glob(_ segments: ArraySlice<String>, in dir: RepoPath, entry: TreeEntry, into results: inout Set<RepoPath>) throws {
        guard let segment = segments.first else {
            if !dir.isRoot { results.insert(dir) }
            return
        }
        guard entry.mode == .directory else { return }
        let children = try store.tree(entry.id).entries
        if segment == "**" {
            // `**` is zero or more directories; as the last segment it also matches the files.
            try glob(segments.dropFirst(), in: dir, entry: entry, into: &results)
            for child in children where child.name.first != UInt8(ascii: ".") {
                let path = dir.appending(path: RepoPath(validated: [child.name]))
                if child.mode == .directory {
                    try glob(segments, in: path, entry: child, into: &results)
                } else if segments.count == 1 {
                    results.insert(path)
                }
            }
            return
        }
        let pattern = try GlobPattern(segment)
        for child in children where pattern.matches(child.name) {
            try glob(segments.dropFirst(), in: dir.appending(path: RepoPath(validated: [child.name])), entry: child, into: &results)
        }
    }
}
