import Foundation
import Testing
@testable import SnapshotFS
import TestSupport

/// Bad input before mounting: one line on stderr, a non-zero exit, nothing mounted.
@Suite(.serialized) struct CommandLineTests {
    func expectCleanFailure(_ arguments: [String], mentions: String, point: String,
                            sourceLocation: SourceLocation = #_sourceLocation) throws {
        let (status, stderr) = try runFailing([try vostmountBinary()] + arguments)
        #expect(status != 0, sourceLocation: sourceLocation)
        let lines = stderr.split(separator: "\n")
        #expect(lines.count == 1, "stderr: \(stderr)", sourceLocation: sourceLocation)
        #expect(stderr.hasPrefix("vostmount: ") && stderr.contains(mentions), "stderr: \(stderr)", sourceLocation: sourceLocation)
        #expect(!isMounted(point), sourceLocation: sourceLocation)
        // A failure of this test must not leave a mount behind.
        if isMounted(point) { _ = try? run(["fusermount3", "-u", "-z", point]) }
    }

    @Test func badArgumentsFailWithOneLine() throws {
        let dir = TempDir("cli")
        let (repo, _, _) = try makeHistoryRepo(dir)
        let point = dir.sub("mnt")
        try FileManager.default.createDirectory(atPath: point, withIntermediateDirectories: true)
        try expectCleanFailure([dir.sub("missing.git"), point], mentions: "no repository at", point: point)
        try FileManager.default.createDirectory(atPath: dir.sub("plain/x"), withIntermediateDirectories: true)
        try expectCleanFailure([dir.sub("plain"), point], mentions: "is not a Git repository", point: point)
        try expectCleanFailure(["--branch", "nope", repo, point], mentions: "no branch nope", point: point)
        try expectCleanFailure(["--ref", "nope~3", repo, point], mentions: "unknown revision nope~3", point: point)
        try expectCleanFailure([repo, dir.sub("nowhere")], mentions: "does not exist", point: dir.sub("nowhere"))
        try createFile(dir.sub("afile"), Data())
        try expectCleanFailure([repo, dir.sub("afile")], mentions: "is not a directory", point: dir.sub("afile"))
        #expect(!FileManager.default.fileExists(atPath: dir.sub("missing.git")))
    }

    /// Numbers and names as a person mistypes them: each is one line naming the value and
    /// what is allowed (negative numbers are values, not options).
    @Test func badValuesSayWhatIsAllowed() throws {
        let dir = TempDir("cli-values")
        let (repo, _, _) = try makeHistoryRepo(dir)
        try git(repo, "remote", "add", "origin", dir.sub("elsewhere.git"))
        let point = dir.sub("mnt")
        try FileManager.default.createDirectory(atPath: point, withIntermediateDirectories: true)
        let cases: [([String], String)] = [
            (["--fetch-interval", "-1"], "--fetch-interval -1: must be more than 0 and at most 86400 seconds"),
            (["--commit-delay", "-1"], "--commit-delay -1: must be 0 or more and at most 86400 seconds"),
            (["--push-timeout", "-1"], "--push-timeout -1: must be 0 or more"),
            (["--lfs-timeout", "0"], "--lfs-timeout 0: must be more than 0"),
            (["--lfs-threshold", "-5"], "--lfs-threshold -5: not a size; give bytes, or a number with k, M or G"),
            (["-o", "fetch_interval=abc"], "-o fetch_interval=abc: not a number of seconds; give more than 0"),
            (["-o", "push_timeout=nan"], "-o push_timeout=nan: not a number of seconds"),
            (["--fetch-interval", "1e308"], "--fetch-interval 1e308: must be more than 0 and at most 86400 seconds"),
            (["--lfs-fetch", "some"], "--lfs-fetch some: give all or open"),
            (["-o", "lfs_fetch=x"], "-o lfs_fetch=x: give all or open"),
            (["--remote", "a b"], "--remote \"a b\": not a remote's name (a name is letters, digits, '.', '_', '-' and '/'; its remotes: origin)"),
            (["--remote", "nope"], "no remote nope in \(repo) (its remotes: origin; add one with: git --git-dir=\(repo) remote add nope URL)"),
        ]
        for (arguments, message) in cases {
            try expectCleanFailure(arguments + [repo, point], mentions: message, point: point)
        }
    }

    @Test func aMountPointWithFilesIsRefusedUnlessNonempty() throws {
        let dir = TempDir("cli")
        let (repo, _, _) = try makeHistoryRepo(dir)
        let point = dir.sub("full")
        try FileManager.default.createDirectory(atPath: point, withIntermediateDirectories: true)
        try createFile(point + "/mine.txt", Data("hidden?\n".utf8))
        try expectCleanFailure([repo, point], mentions: "is not empty", point: point)
        let mount = try Mount(repo, in: dir, arguments: ["-o", "nonempty"], name: "full")
        defer { mount.unmount() }
        #expect(contents(mount.path("README.md")) == "hello\n")
        mount.unmount()
        #expect(contents(point + "/mine.txt") == "hidden?\n", "the files come back after unmounting")
    }

    /// As `git push` refuses to update a checked-out branch: the work tree's or a linked
    /// worktree's branch is refused read-write; read-only, or another branch, mounts.
    @Test func aCheckedOutBranchIsRefusedReadWrite() throws {
        let dir = TempDir("cli")
        let work = dir.sub("work")
        try run(["git", "init", "-q", "-b", "main", work], env: gitEnv)
        try createFile(work + "/a.txt", Data("a\n".utf8))
        try run(["git", "-C", work, "add", "a.txt"], env: gitEnv)
        try run(["git", "-C", work, "commit", "-q", "-m", "a"], env: gitEnv)
        try run(["git", "-C", work, "branch", "other"], env: gitEnv)
        try run(["git", "-C", work, "worktree", "add", "-q", "-b", "side", dir.sub("linked")], env: gitEnv)
        let point = dir.sub("mnt")
        try FileManager.default.createDirectory(atPath: point, withIntermediateDirectories: true)
        try expectCleanFailure([work, point], mentions: "branch main is checked out in \(work); mount it --read-only", point: point)
        try expectCleanFailure(["--branch", "side", work, point], mentions: "checked out in \(dir.sub("linked"))", point: point)
        let readOnly = try Mount(work, in: dir, arguments: ["--read-only"])
        #expect(contents(readOnly.path("a.txt")) == "a\n")
        readOnly.unmount()
        let other = try Mount(work, in: dir, arguments: ["--branch", "other"], name: "mnt2")
        defer { other.unmount() }
        try createFile(other.path("b.txt"), Data("b\n".utf8))
        try sh("sync b.txt", in: other.point)
        #expect(try run(["git", "-C", work, "status", "--porcelain"], env: gitEnv) == "", "the work tree is untouched")
    }

    /// The first thing people try: `git init --bare` and mount. The branch HEAD names (or
    /// --branch) shows as an empty tree; the first commit creates it; --create gives it
    /// vost's "Initialize" commit at once.
    @Test func anEmptyRepositoryMountsAndTheFirstCommitCreatesTheBranch() throws {
        let dir = TempDir("cli")
        let repo = dir.sub("empty.git")
        try run(["git", "init", "-q", "--bare", "-b", "main", repo], env: gitEnv)
        let mount = try Mount(repo, in: dir)
        #expect(try FileManager.default.contentsOfDirectory(atPath: mount.point).isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: mount.path("@/log")).isEmpty)
        #expect(try statusObject(mount)["tip"] is NSNull)
        try sh("echo first > first.txt && sync first.txt", in: mount.point)
        #expect(try git(repo, "log", "--format=%s %P", "main") == "+ first.txt \n", "one root commit")
        #expect(try git(repo, "show", "main:first.txt") == "first\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: mount.path("@/log")).count == 1)
        mount.unmount()
        try expectFsckClean(repo)

        // An empty repository whose HEAD names another branch: --branch picks the name.
        let other = dir.sub("other.git")
        try run(["git", "init", "-q", "--bare", "-b", "master", other], env: gitEnv)
        let named = try Mount(other, in: dir, arguments: ["--branch", "data"], name: "named")
        try sh("echo d > d && sync d", in: named.point)
        named.unmount()
        #expect(try git(other, "show", "data:d") == "d\n")

        // --create on an existing empty repository makes vost's first commit.
        let third = dir.sub("third.git")
        try run(["git", "init", "-q", "--bare", "-b", "main", third], env: gitEnv)
        let created = try Mount(third, in: dir, arguments: ["--create"], name: "created")
        created.unmount()
        #expect(try git(third, "log", "--format=%s", "main") == "Initialize main\n")
        // A branch that is not there in a repository that has others is still an error.
        try expectCleanFailure(["--branch", "nope", third, dir.sub("created")], mentions: "no branch nope", point: dir.sub("created"))
    }

    @Test func busyMountPointIsRefused() throws {
        let dir = TempDir("cli")
        let (repo, _, _) = try makeHistoryRepo(dir)
        let mount = try Mount(repo, in: dir)
        defer { mount.unmount() }
        let (status, stderr) = try runFailing([try vostmountBinary(), repo, mount.point])
        #expect(status != 0)
        #expect(stderr.contains("is busy"), "\(stderr)")
        #expect(contents(mount.path("README.md")) == "hello\n")  // the first mount is untouched
    }

    @Test func createMakesTheRepository() throws {
        let dir = TempDir("cli")
        let point = dir.sub("mnt")
        try FileManager.default.createDirectory(atPath: point, withIntermediateDirectories: true)
        try run([try vostmountBinary(), "--create", dir.sub("new.git"), point])
        defer { _ = try? run(["fusermount3", "-u", point]) }
        #expect(isMounted(point))
        #expect(try run(["ls", "-A", point]) == "")
        #expect(try git(dir.sub("new.git"), "log", "--format=%s") == "Initialize main\n")
    }

    @Test func helpAndVersion() throws {
        let help = try run([try vostmountBinary(), "--help"])
        #expect(help.contains("--branch") && help.contains("--ref") && help.contains("fuse.vostmount") && help.contains("Examples"))
        #expect(try run([try vostmountBinary(), "--version"]).hasPrefix("vostmount "))
    }

    @Test func sigtermAndUnmountEndTheDaemonCleanly() throws {
        let dir = TempDir("cli")
        let (repo, _, _) = try makeHistoryRepo(dir)
        let point = dir.sub("mnt")
        try FileManager.default.createDirectory(atPath: point, withIntermediateDirectories: true)
        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: try vostmountBinary())
        daemon.arguments = ["-f", repo, point]
        try daemon.run()
        defer { if daemon.isRunning { daemon.terminate() }; _ = try? run(["fusermount3", "-u", "-z", point]) }
        #expect(eventually(within: 10) { isMounted(point) })
        #expect(contents(point + "/README.md") == "hello\n")
        kill(daemon.processIdentifier, SIGTERM)
        daemon.waitUntilExit()
        #expect(daemon.terminationStatus == 0)
        #expect(!isMounted(point))

        // fusermount3 -u ends a daemonised mount too: its process goes away.
        try run([try vostmountBinary(), repo, point])
        #expect(isMounted(point))
        try run(["fusermount3", "-u", point])
        #expect(!isMounted(point))
        #expect(eventually(within: 5) { (try? run(["pgrep", "-f", "vostmount .*\(point)"])) == nil })
    }

    @Test func fstabLineWorksThroughMountFuse3() throws {
        let dir = TempDir("cli")
        let (repo, _, _) = try makeHistoryRepo(dir)
        let point = dir.sub("mnt")
        try FileManager.default.createDirectory(atPath: point, withIntermediateDirectories: true)
        // mount.fuse3 runs `vostmount` from PATH with `-o` options, as mount(8) does for fstab.
        let binDir = URL(fileURLWithPath: try vostmountBinary()).deletingLastPathComponent().path
        try run(["mount.fuse3", repo, point, "-t", "fuse.vostmount", "-o", "defaults,branch=dev,noauto"],
                env: ["PATH": "\(binDir):/usr/sbin:/usr/bin:/sbin:/bin"])
        defer { _ = try? run(["fusermount3", "-u", point]) }
        #expect(isMounted(point))
        #expect(contents(point + "/src/app.py") == "print('v1')\n")  // branch dev
    }
}
