import Foundation
import Testing
@testable import SnapshotFS
import TestSupport

@Suite struct HistoryTests {
    /// main: Initialize, + a, ~ a, + b (deploy), ~ a; tag v1 at "+ b".
    func history() throws -> (TempDir, Store, [Snapshot]) {
        let (dir, store) = try makeStore()
        var snaps = [try store.branches["main"]]
        snaps.append(try snaps.last!.write("a", bytes("1")))
        snaps.append(try snaps.last!.write("a", bytes("2")))
        snaps.append(try snaps.last!.write("b", bytes("b"), message: "deploy b"))
        try store.tags.set("v1", to: snaps.last!)
        snaps.append(try snaps.last!.write("a", bytes("3")))
        return (dir, store, snaps)
    }

    @Test func parentBackAndLog() throws {
        let (_, _, snaps) = try history()
        let tip = snaps[4]
        #expect(try tip.parent?.commitID == snaps[3].commitID)
        #expect(try tip.back(4).commitID == snaps[0].commitID)
        #expect(try snaps[0].parent == nil)
        #expect(throws: SnapshotError.self) { try tip.back(5) }
        #expect(try tip.log().map(\.commitID) == snaps.reversed().map(\.commitID))
        #expect(try tip.log(path: "a").map(\.commitID) == [snaps[4], snaps[2], snaps[1]].map(\.commitID))
        #expect(try tip.log(match: "deploy*").map(\.message) == ["deploy b"])
        #expect(try tip.log(before: snaps[0].time.addingTimeInterval(-1)).isEmpty)
        #expect(try tip.log(path: "b", match: "deploy*").count == 1)
    }

    @Test func undoAndRedoWalkTheReflog() throws {
        let (_, store, snaps) = try history()
        let undone = try snaps[4].undo(2)
        #expect(undone.commitID == snaps[2].commitID)
        #expect(try store.branches["main"].commitID == snaps[2].commitID)
        let redone = try undone.redo()
        #expect(redone.commitID == snaps[4].commitID)
        #expect(try store.branches.reflog("main").prefix(2).map(\.message) == ["redo: move forward", "undo: move back"])
        #expect(throws: SnapshotError.stale("branch main has moved")) { try undone.undo() }
        #expect(throws: SnapshotError.readOnly("undo on tag")) {
            do { _ = try store.tags["v1"].undo() } catch SnapshotError.readOnly { throw SnapshotError.readOnly("undo on tag") }
        }
    }

    @Test func revisionsResolveLikeTheMountNamesThem() throws {
        let (dir, store, snaps) = try history()
        let repo = dir.sub("repo.git")
        func id(_ rev: String) throws -> ObjectID { try store.resolve(rev, branch: "main").commitID }
        #expect(try id("main") == snaps[4].commitID)
        #expect(try id("main~3") == snaps[1].commitID)
        #expect(try id("main^") == snaps[3].commitID)
        #expect(try id("main~2^") == snaps[1].commitID)
        #expect(try id("~1") == snaps[3].commitID)
        #expect(try id("^") == snaps[3].commitID)
        #expect(try id("~0") == snaps[4].commitID)
        #expect(try id("v1") == snaps[3].commitID)
        #expect(try id("v1~1") == snaps[2].commitID)
        #expect(try id(snaps[2].commitHash) == snaps[2].commitID)
        #expect(try id(String(snaps[2].commitHash.prefix(7))) == snaps[2].commitID)
        #expect(try id(String(snaps[2].commitHash.prefix(7)).uppercased()) == snaps[2].commitID)
        #expect(try id("@{0}") == snaps[4].commitID)
        #expect(try id("@{1}") == snaps[3].commitID)
        #expect(try id("main@{4}") == snaps[0].commitID)
        for rev in ["main~2", "v1^", "main@{2}"] {
            let theirs = try git(repo, "rev-parse", rev).trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(try id(rev).hex == theirs, "\(rev)")
        }
        #expect(try store.resolve("main").writable)
        #expect(!(try store.resolve("main~1").writable))
        #expect(!(try store.resolve("v1").writable))
        for bad in ["nope", "main~9", "main@{99}", "v1^3", "abc", "main@{yesterday}", "main@{1", "@{}", "@{T}", "@{-}",
                    "@{2026-13-01}", "@{2026-01-01T25:00}", "@{2026-01-01T}", "~99999999999", "@{+}", "@{Z}"] {
            #expect(throws: SnapshotError.self, "\(bad)") { try store.resolve(bad, branch: "main") }
        }
    }

    @Test func dateRevisionsPickTheNewestCommitNotNewer() throws {
        let (_, store) = try makeStore()
        // Commits with chosen times, one a day, written through the engine's own commit path.
        var snap = try store.branches["main"]
        let day: TimeInterval = 86_400
        let start = Revision.parseDate("2026-01-01")!
        for i in 0..<5 {
            let tree = try snap.batch { try $0.write("f", bytes("\(i)")) }.treeID
            let id = try store.writeCommit(tree: tree, parents: [snap.commitID], message: "day \(i)", time: start.addingTimeInterval(Double(i) * day))
            let tip = try store.branches["main"].commitID
            try store.git { try $0.updateRef("refs/heads/main", to: id, expected: tip, message: "commit: day \(i)") }
            snap = try store.branches["main"]
        }
        #expect(try store.resolve("@{2026-01-03}", branch: "main").message == "day 2")
        #expect(try store.resolve("main@{2026-01-03T23:59}").message == "day 2")
        #expect(try store.resolve("@{2026-01-04T00:30+01:00}", branch: "main").message == "day 2")
        #expect(try store.resolve("@{2026-01-04 00:00:00Z}", branch: "main").message == "day 3")
        #expect(try store.resolve("@{2030-01-01}~1", branch: "main").message == "day 3")
        #expect(throws: SnapshotError.self) { try store.resolve("@{1999-01-01}", branch: "main") }
    }

    @Test func ambiguousPrefixIsAnError() throws {
        let (_, store) = try makeStore()
        var snap = try store.branches["main"]
        var seen: [String: ObjectID] = [:]
        var clash: String?
        // Make commits until two share a 4-digit prefix (expected within ~300).
        for i in 0..<3000 where clash == nil {
            snap = try snap.write("f", bytes("\(i)"))
            let prefix = String(snap.commitHash.prefix(4))
            if seen[prefix] != nil { clash = prefix }
            seen[prefix] = snap.commitID
        }
        let prefix = try #require(clash)
        #expect(throws: SnapshotError.invalidRevision("\(prefix) is ambiguous")) { try store.resolve(prefix, branch: "main") }
    }

    /// `versions(of:)` skips unchanged subtrees; a plain check of every commit against its
    /// parent (what `log(path:)` does), keeping the commits where the path exists, must
    /// give the same list, on a random history of edits, deletions, re-creations,
    /// directories becoming files and back, and symlinks.
    @Test func versionsAgreeWithACommitByCommitCheck() throws {
        let (_, store) = try makeStore("versions")
        var rng = SystemRandomNumberGenerator()
        let paths: [RepoPath] = ["a.txt", "d/b.txt", "d/e/c.txt", "d", "d/e", "x"]
        var snap = try store.branches["main"]
        for n in 0..<150 {
            var writes: [RepoPath: WriteEntry] = [:]
            var removes: [RepoPath] = []
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                switch Int.random(in: 0..<10, using: &rng) {
                case 0..<5: writes[paths[Int.random(in: 0...2, using: &rng)]] = .data(bytes("\(n) \(Int.random(in: 0..<3, using: &rng))\n"))
                case 5..<7: removes.append(paths[Int.random(in: 0..<paths.count, using: &rng)])
                case 7: writes["x"] = .symlink(target: "a\(Int.random(in: 0..<2, using: &rng))")
                case 8: writes["x/inner"] = .data(bytes("\(n)\n"))
                default: writes["d"] = .data(bytes("d is a file \(n)\n"))
                }
            }
            removes = removes.filter { removed in !writes.keys.contains { $0.hasPrefix(removed) || removed.hasPrefix($0) } }
            for path in writes.keys {
                // A write under a file replaces the file; a file over a directory replaces it.
                for existing in paths where existing != path && (path.hasPrefix(existing) || existing.hasPrefix(path)) {
                    if try snap.entryIfPresent(at: existing) != nil, !removes.contains(existing) { removes.append(existing) }
                }
            }
            snap = (try? snap.apply(writes: writes, removes: removes.filter { (try? snap.entryIfPresent(at: $0)) != nil }, message: "c\(n)")) ?? snap
        }
        #expect(try snap.log().count > 100)
        func check() throws {
            for path in paths + ["x/inner", "never"] {
                let expected = try snap.log(path: path).compactMap { commit in
                    try commit.entryIfPresent(at: path).map { Pair(commit: commit.commitID, entry: $0) }
                }
                #expect(try snap.versions(of: path).map { Pair(commit: $0.commitID, entry: $0.entry) } == expected, "\(path)")
            }
        }
        try check()
        // Read from git's commit-graph and its changed-path filters, the same answers.
        _ = try run(["git", "--git-dir", store.path, "commit-graph", "write", "--reachable", "--changed-paths"])
        try check()
        #expect(try snap.versions(of: "a.txt").count > 5)
    }

    private struct Pair: Equatable {
        let commit: ObjectID
        let entry: TreeEntry
    }
}
