import Foundation
import Testing
@testable import SnapshotFS
import TestSupport

/// vost (Python, from PyPI) and SnapshotFS on one repository.
@Suite struct VostInteropTests {
    /// Every path with its mode and content hash, as one sorted text, for comparing trees.
    func manifest(_ snap: Snapshot) throws -> String {
        try snap.files().map { "\($0.path.string) \($0.entry.mode.rawValue) \($0.entry.id.hex)" }.joined(separator: "\n")
    }

    static let vostManifest = """
    import sys, vost
    repo = vost.GitStore.open(sys.argv[1], create=False)
    fs = repo.branches[sys.argv[2]]
    out = []
    for dirpath, dirs, files in fs.walk():
        for e in files:
            p = (dirpath + "/" if dirpath else "") + e.name
            out.append(f"{p} {e.mode} {fs.object_hash(p)}")
    print("\\n".join(sorted(out)))
    """

    @Test func weReadWhatVostWrites() throws {
        let dir = TempDir()
        let repo = dir.sub("v.git")
        _ = try python("""
        import sys, vost
        repo = vost.GitStore.open(sys.argv[1])
        fs = repo.branches["main"]
        with fs.batch(message="from vost") as b:
            b.write("a.txt", b"alpha")
            b.write("dir/sub/b.bin", bytes(range(256)))
            b.write("run.sh", b"#!/bin/sh\\n", mode=vost.FileType.EXECUTABLE)
            b.write_symlink("link", "a.txt")
        fs = b.fs
        repo.tags["v1"] = fs
        fs = fs.write("a.txt", b"alpha2")
        """, [repo])
        let store = try Store.open(repo, create: false)
        let main = try store.branches["main"]
        #expect(main.message == "~ a.txt")
        #expect(try main.read("a.txt") == bytes("alpha2"))
        #expect(try main.read("dir/sub/b.bin") == Array(0...255))
        #expect(try main.fileType("run.sh") == .executable)
        #expect(try main.readLink("link") == "a.txt")
        #expect(try store.tags["v1"].message == "from vost")
        let theirs = try python(Self.vostManifest, [repo, "main"]).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try manifest(main) == theirs)
    }

    @Test func vostReadsWhatWeWrite() throws {
        let (dir, store) = try makeStore()
        let repo = dir.sub("repo.git")
        let snap = try store.branches["main"].apply(writes: [
            "a.txt": .data(bytes("alpha")),
            "dir/sub/b.bin": .data(Array(0...255)),
            "run.sh": .data(bytes("#!/bin/sh\n"), mode: .executable),
            "link": .symlink(target: "a.txt"),
        ])
        let theirs = try python(Self.vostManifest, [repo, "main"]).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try manifest(snap) == theirs)
        let read = try python("""
        import sys, vost
        fs = vost.GitStore.open(sys.argv[1], create=False).branches["main"]
        print(fs.read_text("a.txt"), fs.readlink("link"), fs.file_type("run.sh"), fs.message, len(list(fs.log())))
        """, [repo])
        #expect(read == "alpha a.txt executable Batch: +4 2\n")
        // vost can write on top of us and undo back to our commit.
        _ = try python("""
        import sys, vost
        fs = vost.GitStore.open(sys.argv[1], create=False).branches["main"]
        fs = fs.write("from-vost", b"v")
        """, [repo])
        let after = try store.branches["main"]
        #expect(after.message == "+ from-vost")
        #expect(try after.parent?.commitID == snap.commitID)
        try expectFsckClean(repo)
    }

    @Test func vostAndSnapshotFSCommittingAtOnceLoseNothing() async throws {
        let (dir, store) = try makeStore()
        let repo = dir.sub("repo.git")
        let count = 60
        let vostWriter = Task.detached {
            try python("""
            import sys, vost
            repo = vost.GitStore.open(sys.argv[1], create=False)
            for i in range(int(sys.argv[2])):
                vost.retry_write(repo, "main", f"vost/{i}", str(i).encode(), retries=200)
            """, [repo, "\(count)"])
        }
        for i in 0..<count {
            _ = try retryWrite(store, branch: "main", path: try RepoPath("swift/\(i)"), bytes: bytes("\(i)"), attempts: 200)
        }
        _ = try await vostWriter.value
        let tip = try store.branches["main"]
        #expect(try tip.list("vost").count == count)
        #expect(try tip.list("swift").count == count)
        #expect(try git(repo, "rev-list", "--count", "main") == "\(2 * count + 1)\n")
        try expectFsckClean(repo)
    }
}
