import Foundation
import Testing
@testable import SnapshotFS
import TestSupport

/// Git LFS through the mount: a repository made by `git lfs`, cloned bare with its objects,
/// reads as the files' content.
@Suite struct LFSTests {
    /// A work tree with `*.bin` tracked by LFS, two commits of `data/big.bin` (3 MB, then
    /// 5 MB of random bytes) and a plain `notes.txt`, cloned bare with every LFS object.
    static func makeRepo(_ dir: TempDir) throws -> (repo: String, work: String) {
        let work = dir.sub("work")
        try run(["git", "init", "-q", "-b", "main", work], env: gitEnv)
        try run(["git", "lfs", "install", "--local"], cwd: work, env: gitEnv)
        try run(["git", "lfs", "track", "*.bin"], cwd: work, env: gitEnv)
        try run(["sh", "-c", "mkdir data && head -c 3000000 /dev/urandom > data/big.bin && echo plain > notes.txt"], cwd: work)
        try run(["git", "add", "."], cwd: work, env: gitEnv)
        try run(["git", "commit", "-q", "-m", "one"], cwd: work, env: gitEnv)
        try run(["sh", "-c", "head -c 5000000 /dev/urandom > data/big.bin"], cwd: work)
        try run(["git", "commit", "-q", "-am", "two"], cwd: work, env: gitEnv)
        let repo = dir.sub("repo.git")
        try run(["git", "clone", "-q", "--bare", work, repo], env: gitEnv)
        try run(["git", "lfs", "fetch", "--all"], cwd: repo, env: gitEnv)
        return (repo, work)
    }

    /// The content git-lfs gives for `path` at `revision` of the work tree.
    static func lfsContent(_ work: String, _ revision: String, _ path: String) throws -> Data {
        try runData(["sh", "-c", "git show '\(revision):\(path)' | git lfs smudge"], cwd: work, env: gitEnv)
    }

    @Test func lfsFilesReadAsTheirContentInTheBranchAndInHistory() throws {
        let dir = TempDir("lfs-read")
        let (repo, work) = try Self.makeRepo(dir)
        let mount = try Mount(repo, in: dir)
        defer { mount.unmount() }
        let tip = try Self.lfsContent(work, "HEAD", "data/big.bin")
        let old = try Self.lfsContent(work, "HEAD~1", "data/big.bin")
        #expect(tip.count == 5_000_000 && old.count == 3_000_000)
        #expect(FileManager.default.contents(atPath: mount.path("data/big.bin")) == tip)
        #expect(FileManager.default.contents(atPath: mount.path("@~1/data/big.bin")) == old)
        #expect(try run(["stat", "-c", "%s", mount.path("data/big.bin"), mount.path("@~1/data/big.bin")]) == "5000000\n3000000\n")
        #expect(contents(mount.path("notes.txt")) == "plain\n")
        // Random offsets, as a program seeking through a file reads them.
        for offset in [0, 4095, 1_234_567, 4_999_000] {
            let piece = try runData(["dd", "if=\(mount.path("data/big.bin"))", "bs=1", "skip=\(offset)", "count=1000", "status=none"])
            #expect(piece == tip.subdata(in: offset..<min(tip.count, offset + 1000)), "at \(offset)")
        }
        // The per-file view shows both versions' content too.
        let versions = try run(["ls", mount.path("@/versions/data/big.bin")]).split(separator: "\n")
        #expect(versions.count == 2)
        #expect(FileManager.default.contents(atPath: mount.path("@/versions/data/big.bin/\(versions[0])")) == old)
    }

    /// A pointer whose object is not in the local store has the object's size, and reading
    /// it fails with EIO (and a log line naming the object), never the pointer's text.
    @Test func aMissingObjectIsAnIOErrorNotThePointer() throws {
        let dir = TempDir("lfs-missing")
        let (repo, work) = try Self.makeRepo(dir)
        let oid = try run(["sh", "-c", "git show HEAD~1:data/big.bin | sed -n 's/^oid sha256://p'"], cwd: work)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        try FileManager.default.removeItem(atPath: "\(repo)/lfs/objects/\(oid.prefix(2))/\(oid.dropFirst(2).prefix(2))/\(oid)")
        let log = dir.sub("daemon.log")
        let mount = try Mount(repo, in: dir, arguments: ["--log", log])
        defer { mount.unmount() }
        #expect(try run(["stat", "-c", "%s", mount.path("@~1/data/big.bin")]) == "3000000\n")
        let (status, message) = try runFailing(["cat", mount.path("@~1/data/big.bin")])
        #expect(status != 0 && message.contains("Input/output error"), "\(message)")
        #expect(eventually(within: 5) { (contents(log) ?? "").contains(oid) })
        // The tip's object is there.
        #expect(FileManager.default.contents(atPath: mount.path("data/big.bin")) == (try Self.lfsContent(work, "HEAD", "data/big.bin")))
    }

    /// `--no-lfs` shows what the commits hold: the pointers.
    @Test func noLFSShowsThePointers() throws {
        let dir = TempDir("lfs-off")
        let (repo, work) = try Self.makeRepo(dir)
        let mount = try Mount(repo, in: dir, arguments: ["--no-lfs"])
        defer { mount.unmount() }
        #expect(contents(mount.path("data/big.bin")) == (try run(["git", "show", "HEAD:data/big.bin"], cwd: work)))
        #expect(contents(mount.path("data/big.bin"))?.hasPrefix("version https://git-lfs.github.com/spec/v1\n") == true)
    }
}
