import Foundation
import Testing
@testable import SnapshotFS
import TestSupport

/// Large blobs in packs (every clone, every repository after `git gc`) are read with
/// bounded memory: whole entries streamed from the pack, deltified ones rebuilt on disk.
@Suite(.serialized) struct PackedBlobTests {
    /// The daemon's peak resident memory, in MiB (VmHWM).
    func peakMiB(_ pid: Int32) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") })
        return (Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) / 1024
    }

    /// `git` makes the commits; `git gc` packs them (zlib level 1, to keep the test short).
    func gitRepository(_ dir: TempDir, commits: [(String, String)]) throws -> String {
        let work = dir.sub("work")
        try run(["git", "init", "-q", "-b", "main", work], env: gitEnv)
        for (name, source) in commits {
            try run(["cp", source, "\(work)/\(name)"])
            try run(["git", "-C", work, "-c", "core.compression=1", "add", "-A"], env: gitEnv)
            try run(["git", "-C", work, "commit", "-q", "-m", "update \(name)"], env: gitEnv)
        }
        let repo = dir.sub("repo.git")
        try run(["git", "clone", "-q", "--bare", work, repo], env: gitEnv)
        return repo
    }

    @Test func aPacked256MiBBlobIsReadWholeAtRandomAndTwiceAtOnceUnder128MiB() throws {
        let dir = TempDir("packed")
        let size = 256 << 20
        let original = dir.sub("big.orig")
        try run(["sh", "-c", "head -c \(size) /dev/urandom > '\(original)'"])
        try createFile(dir.sub("small"), Data("later\n".utf8))
        let repo = try gitRepository(dir, commits: [("big.bin", original), ("small.txt", dir.sub("small"))])
        try run(["git", "--git-dir=\(repo)", "-c", "pack.compression=1", "gc", "-q"], env: gitEnv)
        #expect(try run(["sh", "-c", "ls '\(repo)/objects/pack/'*.pack | wc -l"]) == "1\n")
        #expect(try run(["sh", "-c", "find '\(repo)/objects' -regex '.*/objects/[0-9a-f][0-9a-f]/.*' -type f | wc -l"]) == "0\n",
                "every object is packed")
        let mount = try Mount(repo, in: dir)
        defer { mount.unmount() }
        let daemon = try #require(mount.daemon)
        // Whole, from the branch and from @~1 at once (two readers of one blob).
        let readers = [mount.path("big.bin"), mount.path("@~1/big.bin")]
        let failures = Guarded<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 2) { i in
            do { try run(["cmp", readers[i], original]) } catch { failures.withLock { $0.append("\(error)") } }
        }
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
        // At random offsets, in the history folder.
        try python("""
            import os, random, sys
            mounted, original = open(sys.argv[1], 'rb'), open(sys.argv[2], 'rb')
            rng = random.Random(7)
            for _ in range(300):
                at, n = rng.randrange(0, \(size)), rng.choice([1, 4096, 100000])
                mounted.seek(at); original.seek(at)
                assert mounted.read(n) == original.read(n), at
            """, [mount.path("@~1/big.bin"), original])
        let peak = try peakMiB(daemon)
        #expect(peak < 128, "daemon peak RSS \(peak) MiB for a \(size >> 20) MiB packed blob")
    }

    @Test func aDeltifiedLargeBlobIsRebuiltExactly() throws {
        let dir = TempDir("delta")
        let v1 = dir.sub("v1")
        let v2 = dir.sub("v2")
        try run(["sh", "-c", "head -c 40000000 /dev/urandom > '\(v1)' && cp '\(v1)' '\(v2)' && "
                 + "printf XYZ | dd of='\(v2)' bs=1 seek=20000000 conv=notrunc 2>/dev/null && printf END >> '\(v2)'"])
        let repo = try gitRepository(dir, commits: [("data.bin", v1), ("data.bin", v2)])
        try run(["git", "--git-dir=\(repo)", "gc", "-q", "--aggressive"], env: gitEnv)
        // One of the two versions is stored as a delta of the other.
        let deltas = try run(["sh", "-c", "git verify-pack -v '\(repo)'/objects/pack/*.idx | awk '$2 == \"blob\" && NF == 7' | wc -l"])
        #expect(deltas == "1\n", "git stored one version as a delta")
        let mount = try Mount(repo, in: dir)
        defer { mount.unmount() }
        try run(["cmp", mount.path("data.bin"), v2])
        try run(["cmp", mount.path("@~1/data.bin"), v1])
        #expect(try peakMiB(try #require(mount.daemon)) < 128)
    }
}

/// A large commit never freezes the mount: the file is hashed and stored before the commit
/// takes the workspace's lock, so lookups, listings, reads and writes go on meanwhile.
@Suite struct LargeCommitTests {
    @Test func readsAndListingsAnswerWhileALargeFileCommits() throws {
        let dir = TempDir("freeze")
        let (repo, _, _) = try makeHistoryRepo(dir)
        let mount = try Mount(repo, in: dir, arguments: ["--commit-delay", "600"])
        defer { mount.unmount() }
        let size = 256 << 20
        try run(["sh", "-c", "head -c \(size) /dev/urandom > '\(dir.sub("big"))' && cp '\(dir.sub("big"))' '\(mount.path("big.bin"))'"])
        // The fsync that commits it, in its own process.
        let syncer = Process()
        syncer.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        syncer.arguments = ["python3", "-c", "import os, sys; fd = os.open(sys.argv[1], os.O_RDONLY); os.fsync(fd)", mount.path("big.bin")]
        try syncer.run()
        // Wait until the fsync is in the daemon's hands (the process waits on FUSE).
        #expect(eventually(within: 10) {
            let wchan = (try? String(contentsOfFile: "/proc/\(syncer.processIdentifier)/wchan", encoding: .utf8)) ?? ""
            return wchan.contains("request_wait_answer") || wchan.contains("fuse")
        }, "the fsync reached the mount")
        // While it commits: a read of a committed file, a listing, a new file.
        #expect(contents(mount.path("README.md")) == "hello\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: mount.point).contains("big.bin"))
        // (Not FileManager, whose atomic write fsyncs: that would be a second commit.)
        try sh("echo 'written during the commit' > during.txt", in: mount.point)
        #expect(syncer.isRunning, "the commit was still running when all of that had answered")
        syncer.waitUntilExit()
        #expect(syncer.terminationStatus == 0)
        try run(["cmp", mount.path("big.bin"), dir.sub("big")])
        #expect(try git(repo, "cat-file", "-s", "main:big.bin") == "\(size)\n")
        try expectFsckClean(repo)
    }
}
