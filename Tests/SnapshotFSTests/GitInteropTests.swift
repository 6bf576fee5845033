import Foundation
import Testing
@testable import SnapshotFS
import TestSupport

@Suite struct GitInteropTests {
    @Test func gitSeesWhatWeWrite() throws {
        let (dir, store) = try makeStore()
        let repo = dir.sub("repo.git")
        let snap = try store.branches["main"].apply(writes: [
            "src/main.c": .data(bytes("int main(){}\n")),
            "run.sh": .data(bytes("#!/bin/sh\n"), mode: .executable),
            "current": .symlink(target: "src/main.c"),
        ], message: "Add sources")
        #expect(try git(repo, "log", "-1", "--format=%s%n%an", "main") == "Add sources\nvost\n")
        #expect(try git(repo, "show", "main:src/main.c") == "int main(){}\n")
        let tree = try git(repo, "ls-tree", "-r", "main")
        #expect(tree.contains("100755 blob") && tree.contains("\trun.sh"))
        #expect(tree.contains("120000 blob") && tree.contains("\tcurrent"))
        #expect(try git(repo, "rev-parse", "main") == snap.commitHash + "\n")
        try expectFsckClean(repo)

        let clone = dir.sub("clone")
        try run(["git", "clone", "-q", repo, clone], env: gitEnv)
        #expect(FileManager.default.isExecutableFile(atPath: clone + "/run.sh"))
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: clone + "/current") == "src/main.c")
        #expect(FileManager.default.contents(atPath: clone + "/src/main.c") == Data("int main(){}\n".utf8))
    }

    /// Packed objects are not tried loose where no `objects/xx` directory exists; an object
    /// git writes loose into a new one right after the store looked must still be read.
    @Test func objectsGitWritesLooseAfterAScanAreRead() throws {
        let (dir, store) = try makeStore()
        let repo = dir.sub("repo.git")
        _ = try store.branches["main"].write("a.txt", bytes("a\n"))
        try git(repo, "gc", "-q")
        // A store that has read nothing yet: its first commit read scans objects/.
        let reader = try Store.open(repo, create: false)
        #expect(try reader.branches["main"].readText("a.txt") == "a\n")
        let loose = try FileManager.default.contentsOfDirectory(atPath: repo + "/objects").filter { $0.utf8.count == 2 }
        #expect(loose.isEmpty, "gc packed everything: \(loose)")
        let tree = try git(repo, "rev-parse", "main^{tree}").trimmingCharacters(in: .whitespacesAndNewlines)
        let hex = try run(["git", "--git-dir", repo, "commit-tree", tree, "-m", "written by git"], env: gitEnv)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(FileManager.default.fileExists(atPath: "\(repo)/objects/\(hex.prefix(2))/\(hex.dropFirst(2))"))
        let id = try #require(ObjectID(hex: hex))
        #expect(try reader.commit(id).message == "written by git\n")
        #expect(try reader.snapshot(of: id).readText("a.txt") == "a\n")
    }

    @Test func emptyDirectoriesPassStrictFsck() throws {
        let (dir, store) = try makeStore()
        _ = try store.branches["main"].batch { try $0.makeDirectory("a/b") }
        try expectFsckClean(dir.sub("repo.git"))
        #expect(try git(dir.sub("repo.git"), "ls-tree", "main:a").contains("040000 tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\tb"))
    }

    @Test func weReadWhatGitWrites() throws {
        let dir = TempDir()
        let work = dir.sub("work")
        let repo = dir.sub("repo.git")
        try run(["git", "init", "-q", "-b", "main", work], env: gitEnv)
        func inWork(_ args: String...) throws { try run(["git", "-C", work] + args, env: gitEnv) }
        try Data("one\n".utf8).write(to: URL(fileURLWithPath: work + "/a.txt"))
        try inWork("add", "-A"); try inWork("commit", "-q", "-m", "first")
        try inWork("tag", "-a", "v1", "-m", "annotated")
        try inWork("checkout", "-q", "-b", "side")
        try Data("side\n".utf8).write(to: URL(fileURLWithPath: work + "/side.txt"))
        try inWork("add", "-A"); try inWork("commit", "-q", "-m", "side")
        try inWork("checkout", "-q", "main")
        try Data("two\n".utf8).write(to: URL(fileURLWithPath: work + "/a.txt"))
        try inWork("commit", "-q", "-am", "second")
        try inWork("merge", "-q", "--no-edit", "side")
        try run(["git", "clone", "-q", "--bare", work, repo], env: gitEnv)
        try git(repo, "gc", "-q", "--aggressive")
        try git(repo, "pack-refs", "--all")
        #expect(!FileManager.default.fileExists(atPath: repo + "/refs/heads/main"))  // packed

        let store = try Store.open(repo, create: false)
        let main = try store.branches["main"]
        #expect(main.commit.parents.count == 2)
        #expect(try main.read("a.txt") == bytes("two\n"))
        #expect(try main.read("side.txt") == bytes("side\n"))
        let tag = try store.tags["v1"]  // annotated: peeled to its commit
        #expect(tag.message == "first")
        #expect(try tag.read("a.txt") == bytes("one\n"))
        #expect(try store.resolve("main^2").message == "side")
        #expect(try store.resolve("v1").commitID == tag.commitID)
        // And we can write on top of git's packed history.
        let next = try main.write("b.txt", bytes("b"))
        #expect(try git(repo, "log", "--format=%s", "-1") == "+ b.txt\n")
        #expect(try next.back(1).commitID == main.commitID)
        try expectFsckClean(repo)
    }

    /// Large blobs are written in one pass with the zlib level chosen from a sample: random
    /// bytes stored (level 0), which git, git fsck and vost read; text compressed as git
    /// does, to within 10% of git's size.
    @Test func largeBlobsTakeTheLevelTheirDataDeserves() throws {
        let (dir, store) = try makeStore()
        let random = dir.sub("random.bin")
        let text = dir.sub("text.txt")
        try run(["sh", "-c", "head -c 3000000 /dev/urandom > '\(random)' && seq 1 400000 | sed 's/$/ some repeated words of a log line/' > '\(text)'"])
        let snap = try store.branches["main"].write("random.bin", fromFile: random).write("text.txt", fromFile: text)
        let repo = dir.sub("repo.git")
        for (name, file) in [("random.bin", random), ("text.txt", text)] {
            #expect(try runData(["git", "--git-dir=\(repo)", "cat-file", "blob", "main:\(name)"]) == FileManager.default.contents(atPath: file))
        }
        try expectFsckClean(repo)
        func looseSize(_ repo: String, _ id: ObjectID) throws -> Int {
            let path = "\(repo)/objects/\(id.hex.prefix(2))/\(id.hex.dropFirst(2))"
            return try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        }
        // Random bytes: stored, so barely larger than the data.
        let randomSize = try looseSize(repo, try snap.objectID("random.bin"))
        #expect(randomSize < 3_000_000 + 3_000_000 / 100)
        // Text: within 10% of what git writes.
        let other = dir.sub("git.git")
        try run(["git", "init", "-q", "--bare", other])
        let gitID = try run(["git", "--git-dir=\(other)", "hash-object", "-w", text]).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(gitID == (try snap.objectID("text.txt")).hex)
        let ours = try looseSize(repo, try snap.objectID("text.txt"))
        let theirs = try looseSize(other, try #require(ObjectID(hex: gitID)))
        #expect(Double(ours) <= Double(theirs) * 1.1, "ours \(ours) bytes, git's \(theirs)")
        // vost reads both.
        let python = try vostPython()
        let sizes = try run([python, "-c", """
            import sys, vost
            fs = vost.GitStore.open(sys.argv[1], create=False).branches["main"]
            print(len(fs.read("random.bin")), len(fs.read("text.txt")))
            """, repo])
        let textSize = try #require(try FileManager.default.attributesOfItem(atPath: text)[.size] as? Int)
        #expect(sizes == "3000000 \(textSize)\n")
    }

    /// The one-pass writer fills 4 MiB buffers written with O_DIRECT in whole blocks and
    /// ends with an ordinary write of the tail: sizes on each side of those edges, stored
    /// and compressed, on disk and on tmpfs (where O_DIRECT may be refused), name the object
    /// as `git hash-object` does, and git reads back the same bytes.
    @Test func atTheWritersBufferEdgesObjectsAreGitsOwn() throws {
        let dir = TempDir("edges")
        let shm = "/dev/shm/vost-edges-\(getpid())"
        try FileManager.default.createDirectory(atPath: shm, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: shm) }
        let mib = 1 << 20
        let sizes = [mib + 1, 4 * mib - 1, 4 * mib, 4 * mib + 1, 8 * mib + 4097]
        for base in [dir.path, shm] {
            let repo = "\(base)/repo.git"
            try run(["git", "init", "-q", "--bare", repo])
            for size in sizes {
                for kind in ["random", "text"] {
                    let file = "\(base)/\(kind)-\(size)"
                    let make = kind == "random" ? "head -c \(size) /dev/urandom"
                        : "seq 1 \(size) | sed 's/$/ a line of a log/' | head -c \(size)"
                    try run(["sh", "-c", "\(make) > '\(file)'"])
                    let fd = open(file, O_RDONLY)
                    #expect(fd >= 0)
                    defer { close(fd) }
                    let id = try LooseObjects.writeBlob(fromDescriptor: fd, size: size, objectsDirectory: "\(repo)/objects",
                                                       exists: { _ in false })
                    let gitID = try run(["git", "--git-dir=\(repo)", "hash-object", file]).trimmingCharacters(in: .whitespacesAndNewlines)
                    #expect(id.hex == gitID, "\(kind) of \(size) bytes in \(base)")
                    #expect(try runData(["git", "--git-dir=\(repo)", "cat-file", "blob", id.hex]) == FileManager.default.contents(atPath: file))
                }
            }
            try expectFsckClean(repo)
        }
    }
}
