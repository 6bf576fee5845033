import Foundation
import Testing
@testable import SnapshotFS
import TestSupport

/// The work that used to make other requests wait, now done where no one waits for it, and
/// still right: a large file closed is stored at once in the background (so `sync MNT`,
/// which holds the kernel's lock on the folder, finds it done), and the first write into a
/// large committed file copies it without the workspace's lock. Timings are in
/// scripts/bench (`scripts/stall_probe.py`); these check what ends up committed.
@Suite struct StallTests {
    /// An empty bare repository, and beside it a file of `mebibytes` random MiB.
    static func newRepository(in dir: TempDir, withFileOf mebibytes: Int) throws -> (repo: String, file: String) {
        let repo = dir.sub("repo.git")
        try run(["git", "init", "-q", "--bare", "-b", "main", repo], env: gitEnv)
        let file = dir.sub("big.bin")
        try run(["dd", "if=/dev/urandom", "of=\(file)", "bs=1M", "count=\(mebibytes)", "status=none"])
        return (repo, file)
    }

    static func blobID(_ path: String) throws -> String {
        try run(["git", "hash-object", path]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func hasObject(_ repo: String, _ id: String) -> Bool {
        (try? run(["git", "--git-dir=\(repo)", "cat-file", "-e", id])) != nil
    }

    /// With no commit due for ten minutes, a large file `cp` closed is stored anyway: its
    /// blob appears in the repository before anything commits, and `sync MNT` commits it.
    @Test func aClosedLargeFileIsStoredBeforeTheCommit() throws {
        let dir = TempDir("stall-store")
        let (repo, source) = try Self.newRepository(in: dir, withFileOf: 24)
        let mount = try Mount(repo, in: dir, arguments: ["--commit-delay", "600"])
        defer { mount.unmount() }
        let id = try Self.blobID(source)
        try run(["cp", source, mount.path("big.bin")])
        #expect(eventually(within: 60) { Self.hasObject(repo, id) }, "the closed file was not stored ahead of the commit")
        #expect((try? run(["git", "--git-dir=\(repo)", "rev-parse", "--verify", "-q", "main:big.bin"])) == nil, "committed already")
        try run(["sync", mount.point])
        #expect(try run(["git", "--git-dir=\(repo)", "rev-parse", "main:big.bin"]).hasPrefix(id))
        _ = try run(["git", "--git-dir=\(repo)", "fsck", "--strict"])
    }

    /// A file changed again while (or after) its earlier content was stored in the background
    /// is committed with its last content, never the stored one: rounds of write, close,
    /// append at once, with `sync MNT` racing the background store.
    @Test(arguments: [1, 2, 3]) func aFileChangedAfterItsBackgroundStoreCommitsItsLastContent(seed: Int) throws {
        let dir = TempDir("stall-race")
        let (repo, source) = try Self.newRepository(in: dir, withFileOf: 4 + seed)
        let mount = try Mount(repo, in: dir, arguments: ["--commit-delay", "600"])
        defer { mount.unmount() }
        for round in 0..<4 {
            let target = mount.path("f\(round % 2).bin")
            try run(["cp", source, target])
            // Appended to at once, while the background store of the copy may be running.
            let handle = try #require(FileHandle(forWritingAtPath: target))
            try handle.seekToEnd()
            try handle.write(contentsOf: Data("round \(round) seed \(seed)\n".utf8))
            try handle.close()
            if round % 2 == seed % 2 { try run(["sync", mount.point]) }
        }
        try run(["sync", mount.point])
        for name in ["f0.bin", "f1.bin"] {
            let committed = try run(["git", "--git-dir=\(repo)", "rev-parse", "main:\(name)"]).trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(committed == (try Self.blobID(mount.path(name))), "\(name)")
        }
        _ = try run(["git", "--git-dir=\(repo)", "fsck", "--strict"])
    }

    /// The first writes into a large committed file, from two processes at once at other
    /// offsets (each may copy the blob without the lock; one copy wins, the other is
    /// dropped): both writes are in the file and in the commit, the rest is unchanged.
    @Test func firstWritesIntoALargeCommittedFileKeepEveryByte() throws {
        let dir = TempDir("stall-first-write")
        let (repo, source) = try Self.newRepository(in: dir, withFileOf: 32)
        do {
            let mount = try Mount(repo, in: dir, name: "setup")
            defer { mount.unmount() }
            try run(["cp", source, mount.path("big.bin")])
            try run(["sync", mount.point])
        }
        let mount = try Mount(repo, in: dir, arguments: ["--commit-delay", "600"])
        defer { mount.unmount() }
        let target = mount.path("big.bin")
        let writers = [0, 20 << 20].map { offset in
            process("/bin/sh", ["-c", "printf 'AT%08d' \(offset) | dd of=\"$0\" bs=1 seek=\(offset) conv=notrunc status=none", target])
        }
        for writer in writers { try writer.run() }
        for writer in writers { writer.waitUntilExit() }
        #expect(writers.allSatisfy { $0.terminationStatus == 0 })
        try run(["sync", mount.point])
        var expected = [UInt8](try Data(contentsOf: URL(fileURLWithPath: source)))
        for offset in [0, 20 << 20] { expected.replaceSubrange(offset..<(offset + 10), with: Array(String(format: "AT%08d", offset).utf8)) }
        #expect([UInt8](try Data(contentsOf: URL(fileURLWithPath: target))) == expected)
        let shown = dir.sub("shown.bin")
        _ = try run(["sh", "-c", "git --git-dir=\"$0\" cat-file blob main:big.bin > \"$1\"", repo, shown])
        #expect([UInt8](try Data(contentsOf: URL(fileURLWithPath: shown))) == expected)
    }

    private func process(_ path: String, _ arguments: [String]) -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = arguments
        return p
    }
}
