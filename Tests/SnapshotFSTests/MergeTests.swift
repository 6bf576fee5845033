import Foundation
import Testing
@testable import SnapshotFS
import TestSupport

/// The three-way merge that joins two lines of history (a remote's and this machine's, or a
/// batch and another writer's commit): no version may disappear from the tree.
@Suite struct MergeTests {
    /// Two branches forked from one base: `ours` is main, `theirs` is branch `other`.
    private func fork(_ base: [RepoPath: WriteEntry]) throws -> (TempDir, Store, Snapshot) {
        let (dir, store) = try makeStore()
        let root = base.isEmpty ? try store.branches["main"] : try store.branches["main"].apply(writes: base, message: "base")
        try store.branches.set("other", to: root)
        return (dir, store, root)
    }

    private let tenLines = (1...10).map { "line \($0)\n" }.joined()

    @Test func changesOnDifferentPathsAndLinesAreBothKept() throws {
        let (dir, store, _) = try fork(["notes.txt": .data(bytes(tenLines)), "keep": .data(bytes("k"))])
        let ours = try store.branches["main"].apply(writes: [
            "a.txt": .data(bytes("a")), "notes.txt": .data(bytes(tenLines.replacingOccurrences(of: "line 1\n", with: "ONE\n")))])
        let theirs = try store.branches["other"].apply(writes: [
            "dir/b.txt": .data(bytes("b")), "notes.txt": .data(bytes(tenLines.replacingOccurrences(of: "line 10\n", with: "TEN\n")))])
        let outcome = try store.merge(theirs.commitID, into: "main", label: "other")
        #expect(outcome.kind == .merged)
        #expect(outcome.conflicts.isEmpty)
        #expect(outcome.lineMerged == ["notes.txt"])
        let merged = try store.branches["main"]
        #expect(merged.commitID == outcome.tip)
        #expect(try merged.readText("notes.txt").hasPrefix("ONE\nline 2\n"))
        #expect(try merged.readText("notes.txt").hasSuffix("line 9\nTEN\n"))
        #expect(try merged.readText("a.txt") == "a")
        #expect(try merged.readText("dir/b.txt") == "b")
        #expect(try merged.readText("keep") == "k")
        // First parent ours, so `~N` keeps following this line; second the other.
        #expect(try store.commit(outcome.tip).parents == [ours.commitID, theirs.commitID])
        try expectFsckClean(dir.sub("repo.git"))
    }

    @Test func aConflictKeepsTheirsOnThePathAndOursBesideIt() throws {
        let (dir, store, _) = try fork(["report.txt": .data(bytes("base\n")), "Makefile": .data(bytes("all:\n")),
                                        ".bashrc": .data(bytes("x\n")), "pic.bin": .data([0, 1, 2])])
        let ours = try store.branches["main"].apply(writes: [
            "report.txt": .data(bytes("ours\n")), "Makefile": .data(bytes("ours:\n")),
            ".bashrc": .data(bytes("ours\n")), "pic.bin": .data([0, 9, 9])])
        _ = try store.branches["other"].apply(writes: [
            "report.txt": .data(bytes("theirs\n")), "Makefile": .data(bytes("theirs:\n")),
            ".bashrc": .data(bytes("theirs\n")), "pic.bin": .data([0, 7, 7])])
        let outcome = try store.merge(try store.branches["other"].commitID, into: "main", label: "other")
        let tag = ours.commitID.shortHex
        #expect(Set(outcome.conflicts.map(\.string)) == [
            "report.conflict-\(tag).txt", "Makefile.conflict-\(tag)", ".bashrc.conflict-\(tag)", "pic.conflict-\(tag).bin"])
        let merged = try store.branches["main"]
        #expect(try merged.readText("report.txt") == "theirs\n")
        #expect(try merged.readText(RepoPath("report.conflict-\(tag).txt")) == "ours\n")
        #expect(try merged.read("pic.bin") == [0, 7, 7])
        #expect(try merged.read(RepoPath("pic.conflict-\(tag).bin")) == [0, 9, 9])
        // No conflict markers anywhere.
        for (path, _) in try merged.files() { #expect(try !merged.readText(path).contains("<<<<<<<")) }
        try expectFsckClean(dir.sub("repo.git"))
    }

    @Test func modifyDeleteKeepsTheModifiedFileEitherWay() throws {
        let (_, store, _) = try fork(["a": .data(bytes("a\n")), "b": .data(bytes("b\n"))])
        _ = try store.branches["main"].apply(writes: ["a": .data(bytes("a2\n"))], removes: ["b"])
        let theirs = try store.branches["other"].apply(writes: ["b": .data(bytes("b2\n"))], removes: ["a"])
        let outcome = try store.merge(theirs.commitID, into: "main", label: "other")
        #expect(outcome.conflicts.isEmpty)
        let merged = try store.branches["main"]
        #expect(try merged.readText("a") == "a2\n")
        #expect(try merged.readText("b") == "b2\n")
    }

    @Test func aFileAndADirectoryOnOnePathKeepTheDirectory() throws {
        let (_, store, _) = try fork(["x": .data(bytes("x"))])
        let ours = try store.branches["main"].apply(writes: ["data.csv": .data(bytes("file"))])
        let theirs = try store.branches["other"].apply(writes: ["data.csv/part1": .data(bytes("p1"))])
        let outcome = try store.merge(theirs.commitID, into: "main", label: "other")
        let merged = try store.branches["main"]
        #expect(try merged.readText("data.csv/part1") == "p1")
        #expect(try merged.readText(RepoPath("data.conflict-\(ours.commitID.shortHex).csv")) == "file")
        #expect(outcome.conflicts.count == 1)
    }

    /// The other way round (before, the copy of their file was named after our commit): a
    /// conflict copy is named after the commit that holds that version.
    @Test func theirFileDisplacedByOurDirectoryIsNamedAfterTheirCommit() throws {
        let (_, store, _) = try fork(["fd": .data(bytes("base\n"))])
        _ = try store.branches["main"].apply(writes: [:], removes: ["fd"]).apply(writes: ["fd/inner": .data(bytes("dir\n"))])
        let theirs = try store.branches["other"].apply(writes: ["fd": .data(bytes("changed\n"))])
        let outcome = try store.merge(theirs.commitID, into: "main", label: "other")
        let merged = try store.branches["main"]
        #expect(try merged.readText("fd/inner") == "dir\n")
        #expect(outcome.conflicts == [try RepoPath("fd.conflict-\(theirs.commitID.shortHex)")])
        #expect(try merged.readText(RepoPath("fd.conflict-\(theirs.commitID.shortHex)")) == "changed\n")
    }

    @Test func modesAndLinksFollowTheSameRules() throws {
        let (_, store, _) = try fork(["run.sh": .data(bytes("echo 1\n")), "link": .symlink(target: "a")])
        let ours = try store.branches["main"].apply(writes: [
            "run.sh": .data(bytes("echo 1\n"), mode: .executable), "link": .symlink(target: "b")])
        _ = try store.branches["other"].apply(writes: ["run.sh": .data(bytes("echo 2\n")), "link": .symlink(target: "c")])
        let outcome = try store.merge(try store.branches["other"].commitID, into: "main", label: "other")
        let merged = try store.branches["main"]
        // One side made it executable, the other changed its content: both.
        #expect(try merged.fileType("run.sh") == .executable)
        #expect(try merged.readText("run.sh") == "echo 2\n")
        // Links never merge by lines: theirs keeps the name, ours is beside it, still a link.
        #expect(try merged.readLink("link") == "c")
        let aside = try RepoPath("link.conflict-\(ours.commitID.shortHex)")
        #expect(try merged.fileType(aside) == .symlink)
        #expect(try merged.readLink(aside) == "b")
        #expect(outcome.conflicts == [aside])
    }

    @Test func fastForwardAndUpToDateMakeNoCommit() throws {
        let (_, store, base) = try fork([:])
        let ahead = try store.branches["other"].write("new", bytes("n"))
        let forward = try store.merge(ahead.commitID, into: "main", label: "other")
        #expect(forward.kind == .fastForward)
        #expect(try store.branches["main"].commitID == ahead.commitID)
        let again = try store.merge(base.commitID, into: "main", label: "other")
        #expect(again.kind == .upToDate)
        #expect(try store.branches["main"].commitID == ahead.commitID)
    }

    @Test func historiesWithNothingInCommonStillMerge() throws {
        let (dir, store) = try makeStore()
        _ = try store.branches["main"].write("mine", bytes("m"))
        // An unrelated root commit, as a remote made with `git init` elsewhere would have.
        let tree = try store.writeTree([TreeEntry(name: bytes("theirs"), mode: .file, id: try store.writeBlob(bytes("t")))])
        let root = try store.writeCommit(tree: tree, parents: [], message: "elsewhere")
        let outcome = try store.merge(root, into: "main", label: "far")
        #expect(outcome.kind == .merged)
        let merged = try store.branches["main"]
        #expect(try merged.readText("mine") == "m")
        #expect(try merged.readText("theirs") == "t")
        try expectFsckClean(dir.sub("repo.git"))
    }

    /// The line merge is git's: on generated edits of one text, a clean `git merge-file`
    /// gives the same bytes, and a conflicting one gives no merge here.
    @Test func lineMergeAgreesWithGitMergeFile() throws {
        let dir = TempDir("merge-file")
        var generator = SystemRandomNumberGenerator()
        let base = (0..<40).map { "row \($0)\n" }
        for round in 0..<25 {
            func edit() -> [String] {
                var lines = base
                for _ in 0..<Int.random(in: 1...3, using: &generator) {
                    let at = Int.random(in: 0..<lines.count, using: &generator)
                    switch Int.random(in: 0..<3, using: &generator) {
                    case 0: lines[at] = "changed \(round)-\(Int.random(in: 0..<1000, using: &generator))\n"
                    case 1: lines.remove(at: at)
                    default: lines.insert("added \(round)\n", at: at)
                    }
                }
                return lines
            }
            let (o, t) = (edit().joined(), edit().joined())
            try createFile(dir.sub("base"), Data(base.joined().utf8))
            try createFile(dir.sub("ours"), Data(o.utf8))
            try createFile(dir.sub("theirs"), Data(t.utf8))
            let ours = LineMerge.merge(base: bytes(base.joined()), ours: bytes(o), theirs: bytes(t))
            do {
                let expected = try run(["git", "merge-file", "-p", dir.sub("ours"), dir.sub("base"), dir.sub("theirs")])
                #expect(ours.map { String(decoding: $0, as: UTF8.self) } == expected, "round \(round)")
            } catch let failure as CommandFailed where failure.status > 0 {
                #expect(ours == nil, "git found a conflict in round \(round), we merged")
            }
        }
    }

    /// Where git finds no conflict, the merged tree is exactly `git merge-tree --write-tree`'s
    /// (generated edits: adds in shared directories, edits to different lines of shared
    /// texts, removals, mode changes).
    @Test func aCleanMergeIsTheTreeGitMakes() throws {
        var generator = SystemRandomNumberGenerator()
        var compared = 0
        for round in 0..<12 {
            let texts = (0..<4).map { t in (0..<30).map { "text \(t) line \($0)\n" }.joined() }
            var base: [RepoPath: WriteEntry] = [:]
            for t in 0..<4 { base[try RepoPath("docs/t\(t).txt")] = .data(bytes(texts[t])) }
            for f in 0..<20 { base[try RepoPath("d\(f % 3)/f\(f)")] = .data(bytes("file \(f) of round \(round)\n")) }
            let (dir, store, _) = try fork(base)
            for (branch, side) in [("main", "a"), ("other", "b")] {
                var writes: [RepoPath: WriteEntry] = [:]
                var removes: [RepoPath] = []
                for n in 0..<Int.random(in: 1...20, using: &generator) {
                    writes[try RepoPath("d\(n % 3)/\(side)-new\(n)")] = .data(bytes("\(side) added \(n) in round \(round)\n"))
                }
                // Side a edits the first lines of each text, side b the last ones.
                for t in 0..<4 where Bool.random(using: &generator) {
                    var lines = texts[t].split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
                    lines[side == "a" ? 2 : 27] = "\(side) was here"
                    writes[try RepoPath("docs/t\(t).txt")] = .data(bytes(lines.joined(separator: "\n")))
                }
                // Each side removes or chmods its own share of the base files.
                for f in 0..<20 where f % 2 == (side == "a" ? 0 : 1) {
                    switch Int.random(in: 0..<4, using: &generator) {
                    case 0: removes.append(try RepoPath("d\(f % 3)/f\(f)"))
                    case 1: writes[try RepoPath("d\(f % 3)/f\(f)")] = .data(bytes("file \(f) of round \(round)\n"), mode: .executable)
                    default: break
                    }
                }
                _ = try store.branches[branch].apply(writes: writes, removes: removes)
            }
            let ours = try store.branches["main"].commitID
            let repo = dir.sub("repo.git")
            guard let expected = try? run(["git", "--git-dir=\(repo)", "merge-tree", "--write-tree", ours.hex, "other"]) else { continue }
            let outcome = try store.merge(try store.branches["other"].commitID, into: "main", label: "other")
            #expect(outcome.conflicts.isEmpty)
            #expect(try store.commit(outcome.tip).tree.hex == expected.trimmingCharacters(in: .whitespacesAndNewlines), "round \(round)")
            compared += 1
        }
        #expect(compared >= 6, "git found most generated merges clean")
    }
}
