import Foundation
import SnapshotFS
import Synchronization

/// `@/versions/<path>/` and `@/gmt/`: history by path and under Samba's snapshot names.
///
/// A versions folder shows, for a path that is a directory (in the shown commit, or in its
/// last version if it is gone there), one versions folder per entry of that directory; for
/// any other path, one entry per version of it along first-parent history (see
/// `Snapshot.versions(of:)`), named `<commit time UTC>-<7 hex>` as in `@/log`, plus the file
/// name's extension so programs still know the type. Walks are kept per (tip, path), so only
/// the first listing after the branch moves pays for one.
final class VersionsIndex: Sendable {
    struct Version {
        let name: [UInt8]
        let version: PathVersion
    }

    private struct Key: Hashable {
        let tip: ObjectID
        let path: RepoPath
    }

    /// The walks kept, and the bytes they hold. 8 MiB is some 40,000 versions: the folders
    /// someone browses; dropped whole when full, which costs one walk per folder then looked at.
    private struct Walks {
        var found: [Key: [Version]] = [:]
        var bytes = 0
    }
    private static let budget = 8 << 20
    private let walks = Mutex(Walks())

    /// The versions of `path` reachable from `tip`, oldest first (as `ls` sorts their names).
    func versions(of path: RepoPath, from tip: Snapshot) throws -> [Version] {
        if tip.isUnborn { return [] }
        let key = Key(tip: tip.commitID, path: path)
        if let hit = walks.withLock({ $0.found[key] }) { return hit }
        let found = try tip.versions(of: path).reversed().map { version in
            Version(name: Self.name(of: version, at: path), version: version)
        }
        let bytes = 128 + path.bytes.count + found.reduce(0) { $0 + 160 + $1.name.count + $1.version.entry.name.count }
        walks.withLock { walks in
            if walks.bytes + bytes > Self.budget { walks = Walks() }
            walks.found[key] = found
            walks.bytes += bytes
        }
        return found
    }

    /// The entry names of `path` if it is shown as a directory of versions folders: a
    /// directory in `tip`, or, where `tip` lacks it, in its last version. Nil otherwise.
    func directoryNames(_ path: RepoPath, in tip: Snapshot) throws -> [[UInt8]]? {
        if tip.isUnborn { return path.isRoot ? [] : nil }
        if let entry = try tip.entryIfPresent(at: path) {
            return entry.mode == .directory ? try tip.entries(path).map(\.name) : nil
        }
        guard let last = try versions(of: path, from: tip).last?.version, last.entry.mode == .directory else { return nil }
        return try tip.store.tree(last.entry.id).entries.map(\.name)
    }

    static func name(of version: PathVersion, at path: RepoPath) -> [UInt8] {
        var name = Array(Namespace.logName(version.time, version.commitID).utf8)
        if version.entry.mode != .directory { name += fileExtension(path.name) }
        return name
    }

    /// `.txt` of `report.txt`; nothing for `Makefile` or `.bashrc`.
    static func fileExtension(_ name: [UInt8]) -> [UInt8] {
        guard let dot = name.lastIndex(of: UInt8(ascii: ".")), dot > 0, dot < name.count - 1 else { return [] }
        return Array(name[dot...])
    }

    // MARK: Samba's names

    /// `@GMT-2026.11.20-14.30.00`: the form Samba's `vfs_shadow_copy2` gives snapshots.
    static func gmtName(_ time: Date) -> [UInt8] {
        let c = Namespace.utc(time)
        return Array(String(format: "@GMT-%04d.%02d.%02d-%02d.%02d.%02d", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!).utf8)
    }

    /// The `@{DATE}` revision a `@GMT-...` name stands for, or nil if it is not one.
    static func dateRevision(ofGMT name: String) -> String? {
        let parts = name.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "@GMT" else { return nil }
        let day = parts[1].split(separator: ".", omittingEmptySubsequences: false)
        let time = parts[2].split(separator: ".", omittingEmptySubsequences: false)
        guard day.count == 3, time.count == 3, day[0].count == 4,
              (day + time).allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
              day[1...].allSatisfy({ $0.count == 2 }), time.allSatisfy({ $0.count == 2 }) else { return nil }
        return "@{\(day[0])-\(day[1])-\(day[2])T\(time[0]):\(time[1]):\(time[2])Z}"
    }

    /// `@/gmt` entries: one per first-parent commit, newest of each second, oldest first.
    func gmtEntries(from tip: Snapshot) throws -> [(name: [UInt8], commit: ObjectID)] {
        if tip.isUnborn { return [] }
        var seen = Set<[UInt8]>()
        var out: [(name: [UInt8], commit: ObjectID)] = []
        for commit in try tip.history() {
            let name = Self.gmtName(commit.time)
            if seen.insert(name).inserted { out.append((name, commit.id)) }
        }
        return out.reversed()
    }
}
