import Foundation
import SnapshotFS

/// The `@` folders: names at the root of the mount that read history, never listed.
///
/// `@~N`, `@^`, `@NAME`, `@NAME~N`, `@HEX` and `@{N}`, `@{DATE}` are revisions (see
/// `SnapshotFS.Revision`) relative to the mounted branch; `@` alone is the index folder with
/// `tags/`, `branches/` and `log/`. Ref names containing `/` are written with `%2F` there.
struct Namespace {
    let store: Store
    /// The mounted branch; nil for a `--ref` mount of a fixed commit.
    let branch: String?
    /// The fixed commit of a `--ref` mount.
    let fixed: ObjectID?

    /// The commit a root name beginning with `@` stands for.
    func resolve(atName name: [UInt8]) throws -> ObjectID {
        guard name.first == UInt8(ascii: "@"), name.count > 1,
              let text = String(validating: name, as: UTF8.self) else { throw Errno.noEntry }
        // `@GMT-2026.11.20-14.30.00` (Samba's snapshot names) is `@{2026-11-20T14:30:00Z}`.
        // `@{N}` and `@{DATE}` keep their `@`: they are the branch's reflog and date forms.
        if let date = VersionsIndex.dateRevision(ofGMT: text) {
            return try store.resolve(fixed.map { $0.hex + date } ?? date, branch: branch).commitID
        }
        var revision = text.hasPrefix("@{") ? text : String(text.dropFirst())
        revision = revision.replacingOccurrences(of: "%2F", with: "/").replacingOccurrences(of: "%2f", with: "/")
        if let fixed {
            guard revision.hasPrefix("~") || revision.hasPrefix("^") || !revision.hasPrefix("@") else { throw Errno.noEntry }
            if revision.hasPrefix("~") || revision.hasPrefix("^") { revision = fixed.hex + revision }
        }
        return try store.resolve(revision, branch: branch).commitID
    }

    func tagNames() -> [String] { (try? store.tags.names) ?? [] }
    func branchNames() -> [String] { (try? store.branches.names) ?? [] }

    static func encode(_ refName: String) -> [UInt8] { Array(refName.replacingOccurrences(of: "/", with: "%2F").utf8) }
    static func decode(_ name: [UInt8]) -> String? {
        String(validating: name, as: UTF8.self)?.replacingOccurrences(of: "%2F", with: "/").replacingOccurrences(of: "%2f", with: "/")
    }

    func tag(_ name: [UInt8]) throws -> ObjectID {
        guard let ref = Self.decode(name), let snap = try store.tags.get(ref) else { throw Errno.noEntry }
        return snap.commitID
    }

    func branchTip(_ name: [UInt8]) throws -> ObjectID {
        guard let ref = Self.decode(name), let snap = try store.branches.get(ref) else { throw Errno.noEntry }
        return snap.commitID
    }

    /// `@/log` entries: one per first-parent commit of the mounted branch (or fixed commit),
    /// `YYYY-MM-DDTHH:MM:SSZ-<7 hex>`, so that `ls` sorts them oldest first.
    func logEntries(from tip: Snapshot) throws -> [(name: [UInt8], commit: CommitSummary)] {
        try tip.history().reversed().map { (Array(Self.logName($0.time, $0.id).utf8), $0) }
    }

    /// A time's date and time of day in UTC, which every name made from a commit time uses.
    static func utc(_ time: Date) -> DateComponents {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 0)!
        return calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: time)
    }

    /// `YYYY-MM-DDTHH:MM:SSZ-<7 hex>`. Made by hand, not by a formatter: `@/log` names every
    /// first-parent commit, and formatting was half the time of listing 24,000 of them.
    static func logName(_ time: Date, _ commit: ObjectID) -> String {
        let (year, month, day, seconds) = civil(Int64(time.timeIntervalSince1970.rounded(.down)))
        func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let clock = "\(two(seconds / 3600)):\(two(seconds / 60 % 60)):\(two(seconds % 60))"
        let yearText = year >= 0 && year < 1000 ? String(repeating: "0", count: 4 - "\(year)".count) + "\(year)" : "\(year)"
        return "\(yearText)-\(two(month))-\(two(day))T\(clock)Z-\(commit.shortHex)"
    }

    /// The UTC date and the seconds into that day of a time in seconds since 1970, by the
    /// days-from-civil algorithm (proleptic Gregorian, as `Calendar` gives).
    static func civil(_ t: Int64) -> (year: Int64, month: Int64, day: Int64, seconds: Int64) {
        let days = t >= 0 ? t / 86400 : (t - 86399) / 86400
        let seconds = t - days * 86400
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day, seconds)
    }

    /// The commit a `@/log` name stands for: the hex after its last `-`, in the history of
    /// `tip` (the listed one). Seven digits may name several objects in a large repository
    /// (git lengthens its own abbreviations then); such a name is found by walking that
    /// history for the commit whose name it is.
    func logCommit(_ name: [UInt8], in tip: Snapshot?) throws -> CommitSummary {
        guard let text = String(validating: name, as: UTF8.self), let dash = text.lastIndex(of: "-") else { throw Errno.noEntry }
        let hex = String(text[text.index(after: dash)...])
        guard hex.count >= 4, hex.allSatisfy(\.isHexDigit) else { throw Errno.noEntry }
        do {
            guard let found = try store.commit(abbreviated: hex), Self.logName(found.time, found.id) == text else { throw Errno.noEntry }
            return found
        } catch SnapshotError.invalidRevision {
            guard let tip, !tip.isUnborn else { throw Errno.noEntry }
            var walk = store.firstParentWalk(from: tip.commitID)
            while let commit = try walk.next() {
                if commit.id.hex.hasPrefix(hex), Self.logName(commit.time, commit.id) == text { return commit }
            }
            throw Errno.noEntry
        }
    }
}
