import Foundation
import Testing
@testable import SnapshotFS
import TestSupport

@Suite struct ReadTests {
    /// A small tree with every kind of entry.
    func sample() throws -> (TempDir, Snapshot) {
        let (dir, store) = try makeStore()
        let snap = try store.branches["main"].apply(writes: [
            "README.md": .data(bytes("hello\n")),
            "bin/run.sh": .data(bytes("#!/bin/sh\necho hi\n"), mode: .executable),
            "docs/guide/intro.txt": .data(bytes("0123456789")),
            "docs/.hidden": .data(bytes("h")),
            "link": .symlink(target: "README.md"),
        ], message: "sample")
        return (dir, snap)
    }

    @Test func readsWholeAndPartial() throws {
        let (_, snap) = try sample()
        #expect(try snap.read("README.md") == bytes("hello\n"))
        #expect(try snap.readText("docs/guide/intro.txt") == "0123456789")
        #expect(try snap.read("docs/guide/intro.txt", offset: 3, count: 4) == bytes("3456"))
        #expect(try snap.read("docs/guide/intro.txt", offset: 8, count: 100) == bytes("89"))
        #expect(try snap.read("docs/guide/intro.txt", offset: 50, count: 4) == [])
        #expect(try snap.readLink("link") == "README.md")
        let id = try snap.objectID("README.md")
        #expect(try snap.readBlob(id, offset: 1, count: 3) == bytes("ell"))
        #expect(id.hex == (try git(snap.store.path, "rev-parse", "main:README.md").trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    @Test func typedErrorsForWrongKinds() throws {
        let (_, snap) = try sample()
        #expect(throws: SnapshotError.isADirectory("docs")) { try snap.read("docs") }
        #expect(throws: SnapshotError.notFound("nope")) { try snap.read("nope") }
        #expect(throws: SnapshotError.notADirectory("README.md")) { try snap.read("README.md/x") }
        #expect(throws: SnapshotError.notADirectory("README.md")) { try snap.list("README.md") }
        // Through a variable: `RepoPath("literal")` would be the non-throwing literal init.
        func parse(_ text: String) throws -> RepoPath { try RepoPath(text) }
        #expect(throws: SnapshotError.invalidPath("empty segment in a//b")) { try parse("a//b") }
        #expect(throws: SnapshotError.invalidPath("..")) { try parse("a/../b") }
        #expect(throws: SnapshotError.invalidPath(".GIT is reserved by Git")) { try parse("x/.GIT/config") }
        #expect(throws: SnapshotError.invalidPath("a\0b")) { try parse("a\0b") }
        #expect(try parse("/a/./b/") == parse("a/b"))
    }

    @Test func queriesAndStat() throws {
        let (_, snap) = try sample()
        #expect(try snap.exists("bin/run.sh") && !(try snap.exists("bin/nope")) && !(try snap.exists("README.md/x")))
        #expect(try snap.isDirectory("docs/guide") && !(try snap.isDirectory("README.md")))
        #expect(try snap.fileType("bin/run.sh") == .executable)
        #expect(try snap.fileType("link") == .symlink)
        #expect(try snap.fileType("docs") == .directory)
        #expect(try snap.size("docs/guide/intro.txt") == 10)
        let stat = try snap.stat("docs")
        #expect(stat.mode == .directory && stat.nlink == 3 && stat.size == 0)
        #expect(try snap.stat().nlink == 4)
        let file = try snap.stat("README.md")
        #expect(file.nlink == 1 && file.size == 6 && file.mtime == snap.time)
        #expect(try snap.list() == ["README.md", "bin", "docs", "link"])
        #expect(try snap.entries("bin").map(\.mode) == [.executable])
    }

    @Test func walkAndGlob() throws {
        let (_, snap) = try sample()
        let steps = try snap.walk()
        #expect(steps.map(\.path.string) == ["", "bin", "docs", "docs/guide"])
        #expect(steps[2].files.map(\.nameString) == [".hidden"])
        #expect(try snap.glob("*") == ["README.md", "bin", "docs", "link"])
        #expect(try snap.glob("**/*.txt") == ["docs/guide/intro.txt"])
        #expect(try snap.glob("docs/*") == ["docs/guide"])
        #expect(try snap.glob("docs/.*") == ["docs/.hidden"])
        #expect(try snap.glob("b?n/[a-s]*.sh") == ["bin/run.sh"])
        #expect(try snap.glob("**") == ["README.md", "bin", "bin/run.sh", "docs", "docs/guide", "docs/guide/intro.txt", "link"])
        #expect(try snap.glob("[!R]*") == ["bin", "docs", "link"])
    }

    @Test func nonUTF8NamesFromGitAreListedAndReadable() throws {
        let dir = TempDir()
        let repo = dir.sub("r.git")
        try run(["git", "init", "-q", "--bare", "-b", "main", repo], env: gitEnv)
        // Build a tree with a Latin-1 name by hand, as a Latin-1 system's git would.
        let blob = try run(["git", "--git-dir=\(repo)", "hash-object", "-w", "--stdin"], stdin: Data("caf\n".utf8))
            .trimmingCharacters(in: .whitespacesAndNewlines)
        var line = Data("100644 blob \(blob)\t".utf8)
        line.append(contentsOf: [0x63, 0x61, 0x66, 0xE9, 0x0A])  // "caf\xe9\n"
        let tree = try run(["git", "--git-dir=\(repo)", "mktree"], stdin: line).trimmingCharacters(in: .whitespacesAndNewlines)
        let commit = try run(["git", "--git-dir=\(repo)", "commit-tree", tree, "-m", "latin1"], env: gitEnv)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        try git(repo, "update-ref", "refs/heads/main", commit)
        let snap = try Store.open(repo).branches["main"]
        let entries = try snap.entries()
        #expect(entries.map(\.name) == [[0x63, 0x61, 0x66, 0xE9]])
        let path = try RepoPath(bytes: [0x63, 0x61, 0x66, 0xE9])
        #expect(try snap.read(path) == bytes("caf\n"))
        // Writing next to it keeps the name byte for byte.
        let next = try snap.write("other", bytes("o"))
        #expect(try next.entries().map(\.name).contains([0x63, 0x61, 0x66, 0xE9]))
        try expectFsckClean(repo)
    }
}

@Suite struct WriteTests {
    @Test func eachWriteIsOneCommitWithVostMessages() throws {
        let (dir, store) = try makeStore()
        let base = try store.branches["main"]
        let a = try base.write("a.txt", bytes("a"))
        #expect(a.message == "+ a.txt" && a.commit.parents == [base.commitID])
        #expect(a.changes?.added.map(\.path.string) == ["a.txt"])
        let b = try a.write("a.txt", bytes("b"))
        #expect(b.message == "~ a.txt")
        let c = try b.write("run", bytes("x"), mode: .executable)
        #expect(c.message == "+ run (executable)")
        let d = try c.writeSymlink("ln", target: "a.txt")
        #expect(d.message == "+ ln (link)")
        let e = try d.remove("a.txt")
        #expect(e.message == "- a.txt")
        let f = try e.apply(writes: ["x": .data(bytes("1")), "y": .data(bytes("2")), "run": .data(bytes("y"))], removes: ["ln"])
        #expect(f.message == "Batch: +2 ~1 -1")
        let g = try f.write("custom", bytes("c"), message: "My message")
        #expect(g.message == "My message")
        #expect(try git(dir.sub("repo.git"), "rev-list", "--count", "main") == "8\n")
        // As in vost, a write without a mode stores a plain file, even over an executable.
        #expect(try git(dir.sub("repo.git"), "ls-tree", "main").contains("100644 blob e25f1814e51579d5f55c0f1fe0135ddb28a47f4a\trun"))
        #expect(try git(dir.sub("repo.git"), "cat-file", "-p", "main:run") == "y")
        try expectFsckClean(dir.sub("repo.git"))
    }

    @Test func unchangedWriteMakesNoCommit() throws {
        let (_, store) = try makeStore()
        let a = try store.branches["main"].write("a", bytes("same"))
        let again = try a.write("a", bytes("same"))
        #expect(again.commitID == a.commitID)
        #expect(again.changes?.isEmpty == true)
        #expect(try store.branches["main"].commitID == a.commitID)
    }

    @Test func snapshotsAreImmutable() throws {
        let (_, store) = try makeStore()
        let one = try store.branches["main"]
        let two = try one.write("new.txt", bytes("data"))
        #expect(!(try one.exists("new.txt")))
        #expect(try two.exists("new.txt"))
    }

    @Test func batchCommitsOnceAndThrowingCommitsNothing() throws {
        let (_, store) = try makeStore()
        let base = try store.branches["main"]
        struct Boom: Error {}
        #expect(throws: Boom.self) {
            try base.batch { b in
                try b.write("a", bytes("a"))
                throw Boom()
            }
        }
        #expect(try store.branches["main"].commitID == base.commitID)
        let next = try base.batch(message: "Import") { b in
            for i in 0..<50 { try b.write(try RepoPath("d\(i % 5)/f\(i)"), bytes("\(i)")) }
            try b.writeSymlink("l", target: "d0/f0")
        }
        #expect(next.message == "Import")
        #expect(next.changes?.added.count == 51)
        #expect(try next.list().count == 6)
    }

    @Test func removeMoveAndDirectories() throws {
        let (dir, store) = try makeStore()
        var snap = try store.branches["main"].apply(writes: ["a/b/c": .data(bytes("c")), "a/d": .data(bytes("d")), "top": .data(bytes("t"))])
        #expect(throws: SnapshotError.isADirectory("a")) { try snap.remove("a") }
        #expect(throws: SnapshotError.notFound("zz")) { try snap.remove("zz") }
        snap = try snap.move(["a/b/c"], to: "top2")
        #expect(try snap.read("top2") == bytes("c"))
        #expect(!(try snap.exists("a/b")))  // vost prunes directories a removal leaves empty
        snap = try snap.move(["top", "top2"], to: "a")
        #expect(try snap.list("a") == ["d", "top", "top2"])
        snap = try snap.batch { try $0.makeDirectory("empty/inner") }
        #expect(try snap.isDirectory("empty/inner"))
        #expect(try snap.entries("empty/inner").isEmpty)
        #expect(snap.message == "+ empty/inner")
        snap = try snap.remove("a", recursive: true)
        #expect(snap.message == "Batch: -3")
        #expect(try snap.list() == ["empty"])
        try expectFsckClean(dir.sub("repo.git"))
    }

    @Test func writeFromFileStreamsAndKeepsExecBit() throws {
        let (dir, store) = try makeStore()
        let local = dir.sub("big.bin")
        var data = [UInt8](repeating: 0, count: 3 << 20)
        for i in data.indices { data[i] = UInt8(truncatingIfNeeded: i &* 2654435761 >> 13) }
        try createFile(local, Data(data), mode: 0o755)
        let snap = try store.branches["main"].write("big.bin", fromFile: local)
        #expect(try snap.fileType("big.bin") == .executable)
        #expect(try snap.size("big.bin") == data.count)
        #expect(try snap.read("big.bin") == data)
        #expect(try snap.read("big.bin", offset: 1_000_000, count: 10) == Array(data[1_000_000..<1_000_010]))
        let expected = try run(["git", "hash-object", local]).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try snap.objectID("big.bin").hex == expected)
    }

    @Test func bigBlobsReadByOffsetThroughAStream() throws {
        let (dir, store) = try makeStore()
        let local = dir.sub("big.bin")
        let size = BlobReader.wholeLimit + 3_000_000
        var data = [UInt8](repeating: 0, count: size)
        for i in data.indices { data[i] = UInt8(truncatingIfNeeded: (i / 7) &* 31) }
        try createFile(local, Data(data))
        let snap = try store.branches["main"].write("big", fromFile: local)
        let reader = try BlobReader(store: store, id: try snap.objectID("big"))
        #expect(reader.size == size)
        var offset = 0
        while offset < size {
            let chunk = try reader.read(at: offset, count: 1 << 20)
            #expect(chunk == Array(data[offset..<min(size, offset + (1 << 20))]))
            offset += chunk.count
        }
        // Behind the frontier: served from the spool, no second inflate.
        #expect(try reader.read(at: 5, count: 3) == Array(data[5..<8]))
        #expect(try reader.read(at: size - 2, count: 10) == Array(data[(size - 2)...]))
        // A second reader of the same blob, at random offsets, shares the spool.
        let again = try BlobReader(store: store, id: try snap.objectID("big"))
        for offset in [size / 3, 17, size - 4096, size / 2] {
            #expect(try again.read(at: offset, count: 4096) == Array(data[offset..<min(size, offset + 4096)]))
        }
        // Packed by git gc, the same blob is read whole (libgit2 cannot stream packs), still right.
        try git(dir.sub("repo.git"), "gc", "-q", "--prune=now")
        let packedStore = try Store.open(dir.sub("repo.git"), create: false)
        let packed = try BlobReader(store: packedStore, id: try snap.objectID("big"))
        #expect(try packed.read(at: size - 100, count: 100) == Array(data[(size - 100)...]))
    }

    @Test func streamingWriter() throws {
        let (_, store) = try makeStore()
        let writer = try store.branches["main"].writer("log.txt")
        try writer.write("line 1\n")
        try writer.write("line 2\n")
        try writer.close()
        let snap = try #require(writer.snapshot)
        #expect(try snap.readText("log.txt") == "line 1\nline 2\n")
        #expect(snap.message == "+ log.txt")
        let batched = try snap.batch { b in
            let w = try b.writer("streamed.bin")
            try w.write([1, 2, 3])
            try w.close()
        }
        #expect(try batched.read("streamed.bin") == [1, 2, 3])
    }

    /// A writer and its batch are freed once nobody holds the writer (its completion once
    /// captured the writer itself, so every one leaked).
    @Test func aClosedWriterIsFreed() throws {
        let (_, store) = try makeStore()
        weak var released: FileWriter?
        var snapshot: Snapshot?
        do {
            let writer = try store.branches["main"].writer("w.txt")
            released = writer
            try writer.write("x\n")
            try writer.close()
            snapshot = writer.snapshot
        }
        #expect(released == nil)
        #expect(try snapshot?.readText("w.txt") == "x\n")
    }
}
