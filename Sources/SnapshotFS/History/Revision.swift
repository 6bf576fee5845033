import Foundation

/// A revision as the mount's `@` folders and vost's CLI write it, parsed but not resolved.
///
/// Grammar: `BASE STEP*`, where BASE is a tag or branch name, a full or abbreviated (4+ hex
/// digits) commit name, `NAME@{N}` (the ref N moves ago, from its reflog), `NAME@{DATE}` (the
/// newest first-parent commit not newer than DATE), or empty (the context branch); a STEP is
/// `~N`, `~` (= `~1`), `^` (first parent) or `^N` (N-th parent).
public struct Revision: Sendable, Equatable {
    /// Where a revision starts.
    public enum Base: Sendable, Equatable {
        case contextBranch
        case name(String)
        case reflog(String?, Int)
        case date(String?, Date)
    }
    /// One move from there: `~N` (N first parents back) or `^N` (the N-th parent).
    public enum Step: Sendable, Equatable {
        case back(Int)
        case parent(Int)
    }
    /// The parsed base.
    public let base: Base
    /// The moves after it, in order.
    public let steps: [Step]

    /// Parses `text`; `invalidRevision` if it is not of the grammar above (resolving is `Store.resolve`).
    public init(parsing text: String) throws {
        let bad = SnapshotError.invalidRevision(text)
        var rest = Substring(text)
        var baseName: Substring
        if let at = rest.range(of: "@{") {
            guard let close = rest[at.upperBound...].firstIndex(of: "}") else { throw bad }
            baseName = rest[..<at.lowerBound]
            let inside = String(rest[at.upperBound..<close])
            let owner = baseName.isEmpty ? nil : String(baseName)
            if let n = Int(inside), n >= 0 {
                base = .reflog(owner, n)
            } else if let date = Revision.parseDate(inside) {
                base = .date(owner, date)
            } else {
                throw bad
            }
            rest = rest[rest.index(after: close)...]
        } else {
            let cut = rest.firstIndex(where: { $0 == "~" || $0 == "^" }) ?? rest.endIndex
            baseName = rest[..<cut]
            base = baseName.isEmpty ? .contextBranch : .name(String(baseName))
            rest = rest[cut...]
        }
        var steps: [Step] = []
        while let op = rest.first {
            rest = rest.dropFirst()
            let digits = rest.prefix(while: { $0.isASCII && $0.isNumber })
            rest = rest.dropFirst(digits.count)
            guard digits.count < 10 else { throw bad }
            let n = digits.isEmpty ? 1 : Int(digits)!
            switch op {
            case "~": steps.append(.back(n))
            case "^": steps.append(.parent(n))
            default: throw bad
            }
        }
        self.steps = steps
    }

    /// ISO 8601 as people type it: `2026-11-20`, `2026-11-20T14:30`, `2026-11-20T14:30:05`,
    /// a space instead of `T`, optional zone `Z`, `+01:00` or `+0100`; UTC when no zone is given.
    /// A bare date means the start of that day.
    public static func parseDate(_ text: String) -> Date? {
        var s = Substring(text.replacingOccurrences(of: " ", with: "T"))
        var offset = 0
        if s.hasSuffix("Z") || s.hasSuffix("z") {
            s = s.dropLast()
        } else if s.count > 10, let sign = s.lastIndex(where: { $0 == "+" || $0 == "-" }), s.distance(from: s.startIndex, to: sign) > 10 {
            let zone = s[s.index(after: sign)...].replacingOccurrences(of: ":", with: "")
            guard zone.count == 4 || zone.count == 2, let value = Int(zone) else { return nil }
            let minutes = zone.count == 4 ? value / 100 * 60 + value % 100 : value * 60
            offset = s[sign] == "-" ? -minutes : minutes
            s = s[..<sign]
        }
        let parts = s.split(separator: "T", maxSplits: 1, omittingEmptySubsequences: false)
        guard let first = parts.first else { return nil }
        let day = first.split(separator: "-")
        guard day.count == 3, day[0].count == 4, let year = Int(day[0]), let month = Int(day[1]), let date = Int(day[2]),
              (1...12).contains(month), (1...31).contains(date) else { return nil }
        var hour = 0, minute = 0, second = 0
        if parts.count == 2 {
            let time = parts[1].split(separator: ":")
            guard (2...3).contains(time.count), let h = Int(time[0]), let m = Int(time[1]),
                  (0...23).contains(h), (0...59).contains(m) else { return nil }
            hour = h
            minute = m
            if time.count == 3 {
                guard let sec = Double(time[2]), sec >= 0, sec < 61 else { return nil }
                second = Int(sec)
            }
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 0)!
        let components = DateComponents(year: year, month: month, day: date, hour: hour, minute: minute, second: second)
        guard let utc = calendar.date(from: components) else { return nil }
        return utc.addingTimeInterval(TimeInterval(-offset * 60))
    }
}

extension Store {
    /// Resolves a revision (see `Revision`) to a snapshot. `branch` is the branch that an
    /// empty base and a bare `@{N}` refer to (the current branch when nil). A plain branch name
    /// gives a writable snapshot of that branch; anything else is read-only and detached.
    /// Unknown names and ambiguous hash prefixes are `invalidRevision`.
    public func resolve(_ text: String, branch: String? = nil) throws -> Snapshot {
        let revision = try Revision(parsing: text)
        let context = { () throws -> String in
            if let branch { return branch }
            guard let name = try self.branches.currentName else { throw SnapshotError.invalidRevision("\(text): HEAD names no branch") }
            return name
        }
        var snapshot: Snapshot
        switch revision.base {
        case .contextBranch:
            snapshot = try branches[context()]
        case .name(let name):
            snapshot = try resolveName(name, in: text)
        case .reflog(let owner, let n):
            let name = try owner ?? context()
            guard let ref = try fullRefName(name) else { throw SnapshotError.invalidRevision(text) }
            let log = try git { try $0.reflog(ref) }
            let id: ObjectID
            if n == 0, let tip = try commitID(ofRef: ref) {
                id = tip
            } else {
                guard n >= 1, n <= log.count, log[n - 1].old != .zero else {
                    throw SnapshotError.invalidRevision("\(text): the reflog of \(name) has \(log.count) entries")
                }
                id = log[n - 1].old
            }
            snapshot = try self.snapshot(of: id)
        case .date(let owner, let date):
            let start = try owner.map { try resolveName($0, in: text) } ?? branches[context()]
            var walk = firstParentWalk(from: start.commitID)
            var found: CommitSummary?
            while let candidate = try walk.next() {
                if candidate.time <= date { found = candidate; break }
            }
            guard let found else { throw SnapshotError.invalidRevision("\(text): no commit that old") }
            snapshot = try self.snapshot(of: found.id)
        }
        for step in revision.steps {
            switch step {
            case .back(let n):
                do { snapshot = try snapshot.back(n) } catch SnapshotError.notFound { throw SnapshotError.invalidRevision(text) }
            case .parent(let n):
                guard n >= 1, n <= snapshot.commit.parents.count else {
                    if n == 0 { continue }
                    throw SnapshotError.invalidRevision(text)
                }
                snapshot = try self.snapshot(of: snapshot.commit.parents[n - 1])
            }
        }
        if !revision.steps.isEmpty || !isPlainName(revision) {
            snapshot = Snapshot(store: self, commit: snapshot.commit, refName: nil, writable: false)
        }
        return snapshot
    }

    private func isPlainName(_ revision: Revision) -> Bool {
        if case .name = revision.base { return true }
        return false
    }

    /// A tag wins over a branch of the same name (as in Git), then a commit name or prefix.
    private func resolveName(_ name: String, in text: String) throws -> Snapshot {
        if let tag = try tags.lookup(name) { return tag }
        if let branch = try branches.lookup(name) { return branch }
        if name.hasPrefix("refs/"), git({ $0.isValidRefName(name) }), let id = try commitID(ofRef: name) { return try snapshot(of: id) }
        if name.count >= 4, name.count <= 40, name.allSatisfy(\.isHexDigit) {
            if let id = try git({ try $0.expand(prefix: name.lowercased()) }) {
                let commitID = try git { try $0.peelToCommit(id) }
                return try snapshot(of: commitID)
            }
        }
        throw SnapshotError.invalidRevision(text)
    }

    /// `refs/tags/NAME` or `refs/heads/NAME` (tag first), for reflog lookups.
    private func fullRefName(_ name: String) throws -> String? {
        if name.hasPrefix("refs/") { return name }
        if try tags.contains(name) { return "refs/tags/\(name)" }
        if try branches.contains(name) { return "refs/heads/\(name)" }
        return nil
    }
}
