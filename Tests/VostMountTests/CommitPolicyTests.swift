import Foundation
import Testing
@testable import SnapshotFS
import TestSupport

/// When a batch becomes a commit: fsync, a quiet mount, unmount; never per write.
@Suite(.serialized) struct CommitPolicyTests {
    @Test func fsyncCommitsEverythingPendingAsOneCommitBeforeItReturns() throws {
        let dir = TempDir("policy")
        let (repo, _, _) = try makeHistoryRepo(dir)
        let before = try commitCount(repo)
        let mount = try Mount(repo, in: dir, arguments: ["--commit-delay", "600"])
        defer { mount.unmount() }
        try sh("mkdir -p a/b && for i in $(seq 1 50); do echo $i > a/b/f$i; done && rm README.md && mv src source", in: mount.point)
        #expect(try commitCount(repo) == before, "nothing commits before fsync or quiet")
        // The tip is read right after fsync returns, in the same process.
        let tip = try python("""
            import os, subprocess, sys
            fd = os.open(sys.argv[1] + '/a/b/f1', os.O_RDONLY)
            os.fsync(fd)
            print(subprocess.run(['git', '--git-dir', sys.argv[2], 'ls-tree', '-r', '--name-only', 'main'],
                                 capture_output=True, text=True).stdout.count('a/b/f'))
            """, [mount.point, repo])
        #expect(tip.trimmingCharacters(in: .whitespacesAndNewlines) == "50")
        #expect(try commitCount(repo) == before + 1)
        #expect(try git(repo, "log", "-1", "--format=%s", "main").hasPrefix("Batch: +51 -2"), "50 new files, src moved, README removed")
        // fsync with nothing pending, and a directory fsync, make no empty commit.
        try python("import os, sys\nfd = os.open(sys.argv[1], os.O_RDONLY)\nos.fsync(fd)", [mount.point])
        #expect(try commitCount(repo) == before + 1)
        try expectFsckClean(repo)
    }

    @Test func manyWritesToOneOpenFileAreOneCommitWhenQuiet() throws {
        let dir = TempDir("policy")
        let (repo, _, _) = try makeHistoryRepo(dir)
        let before = try commitCount(repo)
        let mount = try Mount(repo, in: dir, arguments: ["--commit-delay", "0.3"])
        defer { mount.unmount() }
        try python("""
            import sys
            with open(sys.argv[1] + '/log.txt', 'w', buffering=1) as f:
                for i in range(2000):
                    f.write('line %d\\n' % i)
            """, [mount.point])
        #expect(eventually(within: 10) { (try? commitCount(repo)) == before + 1 }, "one commit after the mount goes quiet")
        #expect(try git(repo, "show", "main:log.txt").split(separator: "\n").count == 2000)
        // Rewriting the same content changes no tree: no commit.
        try sh("cp log.txt /tmp/vost-same-$$ && cp /tmp/vost-same-$$ log.txt && rm /tmp/vost-same-$$", in: mount.point)
        // The quiet commit has run once nothing is pending: it made no commit.
        #expect(eventually(within: 10) { ((try? statusObject(mount))?["pending"] as? Int) == 0 })
        #expect(try commitCount(repo) == before + 1)
    }

    @Test func nothingCommitsWhileAFileIsOpenForWriting() throws {
        let dir = TempDir("policy")
        let (repo, _, _) = try makeHistoryRepo(dir)
        let before = try commitCount(repo)
        let mount = try Mount(repo, in: dir, arguments: ["--commit-delay", "0.2"])
        defer { mount.unmount() }
        try createFile(mount.path("held"))
        let handle = try #require(FileHandle(forWritingAtPath: mount.path("held")))
        handle.write(Data("part one\n".utf8))
        // The daemon's own clock says the mount has been quiet for four commit delays, with
        // the file open: the batch must still be pending.
        #expect(eventually(within: 10) {
            guard let status = try? statusObject(mount) else { return false }
            return (status["quietFor"] as? Double ?? 0) > 0.8 && status["openForWriting"] as? Int == 1
        })
        #expect(try commitCount(repo) == before, "a file is open for writing: the batch waits")
        #expect(try statusObject(mount)["pending"] as? Int ?? 0 > 0)
        handle.write(Data("part two\n".utf8))
        try handle.close()
        #expect(eventually(within: 10) { (try? commitCount(repo)) == before + 1 })
        #expect(try git(repo, "show", "main:held") == "part one\npart two\n")
    }

    @Test func commitDelayZeroCommitsAtEveryClose() throws {
        let dir = TempDir("policy")
        let (repo, _, _) = try makeHistoryRepo(dir)
        let before = try commitCount(repo)
        let mount = try Mount(repo, in: dir, arguments: ["--commit-delay", "0"])
        defer { mount.unmount() }
        for i in 1...3 {
            try sh("echo \(i) > n\(i)", in: mount.point)
            #expect(eventually(within: 5) { (try? commitCount(repo)) == before + i })
        }
    }

    @Test func unmountAndSigtermCommitWhatIsPending() throws {
        let dir = TempDir("policy")
        let (repo, _, _) = try makeHistoryRepo(dir)
        let before = try commitCount(repo)
        let mount = try Mount(repo, in: dir, arguments: ["--commit-delay", "600"])
        try sh("echo pending > p1", in: mount.point)
        mount.unmount()
        #expect(try git(repo, "show", "main:p1") == "pending\n")
        let second = try Mount(repo, in: dir, arguments: ["--commit-delay", "600"], name: "second")
        defer { second.unmount() }
        try sh("echo pending > p2", in: second.point)
        kill(try #require(second.daemon), SIGTERM)
        #expect(eventually(within: 60) { !isRunning(second.daemon!) })
        #expect(!isMounted(second.point))
        #expect(try git(repo, "show", "main:p2") == "pending\n")
        #expect(try commitCount(repo) == before + 2)
        try expectFsckClean(repo)
    }

    @Test func messageFromExtendedAttributeAndAuthorFromOptions() throws {
        let dir = TempDir("policy")
        let (repo, _, _) = try makeHistoryRepo(dir)
        let mount = try Mount(repo, in: dir, arguments: ["--commit-delay", "600", "--author", "Ada", "--email", "ada@example.org"])
        defer { mount.unmount() }
        try sh("echo x > with-message && setfattr -n user.vost.message -v 'Import the data' .", in: mount.point)
        let (_, refused) = try runFailing(["setfattr", "-n", "user.other", "-v", "1", mount.path("with-message")])
        #expect(refused.contains("Operation not supported"))
        try run(["sync", mount.path("with-message")])  // fsync (sync -f is syncfs, which FUSE never sees)
        #expect(try git(repo, "log", "-1", "--format=%s|%an|%ae", "main") == "Import the data|Ada|ada@example.org\n")
        // The message is for one commit only.
        try sh("echo y > after && sync after", in: mount.point)
        #expect(try git(repo, "log", "-1", "--format=%s", "main") == "+ after\n")
    }

    /// Commits say who made them as git would (before, every one was "vost <vost@localhost>"),
    /// and which host, in a trailer.
    @Test func commitsCarryGitsIdentityAndTheHost() throws {
        let dir = TempDir("identity")
        let (repo, _, _) = try makeHistoryRepo(dir)
        let home = dir.sub("home")
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        let host = try run(["hostname"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let format = "--format=%an <%ae>|%cn <%ce>|%(trailers:key=Vostmount-Host,valueonly,separator=)"
        func commit(_ name: String, env: [String] = [], arguments: [String] = []) throws -> String {
            let mount = try Mount(repo, in: dir, arguments: ["--commit-delay", "600"] + arguments, name: "m-\(name)",
                                  prefix: ["env", "HOME=\(home)", "XDG_CONFIG_HOME=\(home)"] + env)
            defer { mount.unmount() }
            try sh("echo \(name) > \(name) && sync \(name)", in: mount.point)
            return try git(repo, "log", "-1", format, "main")
        }
        // Nothing configured anywhere: vost's.
        #expect(try commit("none") == "vost <vost@localhost>|vost <vost@localhost>|\(host)\n")
        // The user's config, then the repository's.
        try createFile(home + "/.gitconfig", Data("[user]\n\tname = Home User\n\temail = home@example.org\n".utf8))
        #expect(try commit("home") == "Home User <home@example.org>|Home User <home@example.org>|\(host)\n")
        try git(repo, "config", "user.name", "Repo User")
        try git(repo, "config", "user.email", "repo@example.org")
        #expect(try commit("repo") == "Repo User <repo@example.org>|Repo User <repo@example.org>|\(host)\n")
        // git's environment, author and committer apart.
        #expect(try commit("env", env: ["GIT_AUTHOR_NAME=Env Author", "GIT_AUTHOR_EMAIL=author@example.org",
                                        "GIT_COMMITTER_NAME=Env Committer", "GIT_COMMITTER_EMAIL=committer@example.org"])
                == "Env Author <author@example.org>|Env Committer <committer@example.org>|\(host)\n")
        // --author and --email win.
        #expect(try commit("options", env: ["GIT_AUTHOR_NAME=Env Author"], arguments: ["--author", "Ada", "--email", "ada@example.org"])
                == "Ada <ada@example.org>|Ada <ada@example.org>|\(host)\n")
        // The subject stays the automatic one.
        #expect(try git(repo, "log", "-1", "--format=%s", "main") == "+ options\n")
    }

    @Test func mkdirAndRmdirInTheIndexMakeAndDeleteRefs() throws {
        let dir = TempDir("policy")
        let (repo, store, _) = try makeHistoryRepo(dir)
        let mount = try Mount(repo, in: dir, arguments: ["--commit-delay", "600"])
        defer { mount.unmount() }
        try sh("echo tagged > t.txt && mkdir @/tags/release-1 && mkdir @/branches/feature%2Fx", in: mount.point)
        #expect(try git(repo, "show", "release-1:t.txt") == "tagged\n", "pending changes are committed before tagging")
        #expect(try tipHash(repo, "release-1") == tipHash(repo, "main"))
        #expect(try tipHash(repo, "feature/x") == tipHash(repo, "main"))
        #expect(contents(mount.path("@/tags/release-1/t.txt")) == "tagged\n")
        #expect(contents(mount.path("@release-1/t.txt")) == "tagged\n")
        let (_, exists) = try runFailing(["mkdir", mount.path("@/tags/release-1")])
        #expect(exists.contains("File exists"))
        try run(["rmdir", mount.path("@/tags/release-1"), mount.path("@/branches/feature%2Fx")])
        #expect(try store.tags.get("release-1") == nil)
        #expect(try store.branches.get("feature/x") == nil)
        let (_, busy) = try runFailing(["rmdir", mount.path("@/branches/main")])
        #expect(busy.contains("busy"))
    }
}
