import Foundation
import Testing
@testable import SnapshotFS
import TestSupport

/// One branch on several "machines": bare clones of one server repository, each mounted
/// with `--remote origin`, written through their mounts with ordinary file calls. After
/// every case all of them and the server converge on one tree, every version written is in
/// it (or, when overwritten, in history), and every repository passes `git fsck --strict`.
@Suite struct RemoteTests {
    static let tenLines = (1...10).map { "line \($0)\n" }.joined()

    @Test func changesOnDifferentPathsAndLinesReachEveryMount() throws {
        let cluster = try Cluster("remote-paths", seed: ["notes.txt": Self.tenLines])
        defer { cluster.unmountAll() }
        try writeAndSync(cluster.path(0, "a.txt"), "from 0\n")
        try writeAndSync(cluster.path(0, "notes.txt"), Self.tenLines.replacingOccurrences(of: "line 1\n", with: "ONE\n"))
        try writeAndSync(cluster.path(1, "b.txt"), "from 1\n")
        try writeAndSync(cluster.path(1, "notes.txt"), Self.tenLines.replacingOccurrences(of: "line 10\n", with: "TEN\n"))
        cluster.expectConverged()
        for i in 0..<2 {
            #expect(contents(cluster.path(i, "a.txt")) == "from 0\n")
            #expect(contents(cluster.path(i, "b.txt")) == "from 1\n")
            let notes = contents(cluster.path(i, "notes.txt")) ?? ""
            #expect(notes.hasPrefix("ONE\nline 2\n") && notes.hasSuffix("line 9\nTEN\n"), "line merge: \(notes)")
        }
        // The merge commit's first parent is the merging machine's own line.
        let merges = try git(cluster.server, "rev-list", "--merges", "main").split(separator: "\n")
        #expect(merges.count >= 1)
        // Its message names both tips: "Merge origin/main (abc1234) into main (def5678)".
        for merge in merges {
            let parents = try git(cluster.server, "log", "-1", "--format=%p", String(merge)).split(separator: " ").map {
                String($0.trimmingCharacters(in: .whitespacesAndNewlines).prefix(7))
            }
            let subject = try git(cluster.server, "log", "-1", "--format=%s", String(merge))
            #expect(subject == "Merge origin/main (\(parents[1])) into main (\(parents[0]))\n", "\(subject)")
        }
        let status = try statusObject(cluster.mounts[0])
        #expect(status["remote"] as? String == "origin")
        #expect(status["url"] as? String == cluster.server)
        #expect(status["ahead"] as? Int == 0 && status["behind"] as? Int == 0)
        #expect(status["error"] is NSNull)
        #expect(status["lastPush"] is String && status["lastFetch"] is String)
        cluster.unmountAll()
        try cluster.expectAllClean()
    }

    @Test func threeMountsWritingOneFileKeepEveryVersion() throws {
        let cluster = try Cluster("remote-same", seed: ["report.txt": "base\n"], count: 3)
        defer { cluster.unmountAll() }
        // Three different contents for one path, written at once (threads).
        let versions = (0..<3).map { "version from machine \($0)\n" }
        let paths = (0..<3).map { cluster.path($0, "report.txt") }
        DispatchQueue.concurrentPerform(iterations: 3) { i in
            do { try writeAndSync(paths[i], versions[i]) } catch { Issue.record("\(error)") }
        }
        cluster.expectConverged()
        let files = try fileContents(cluster.mounts[0].point)
        let reports = files.filter { $0.key.hasPrefix("report") }
        // Each version is in the tree: the published one on the path, the others beside it.
        #expect(Set(reports.values) == Set(versions), "\(reports)")
        #expect(reports["report.txt"] != nil)
        for name in reports.keys where name != "report.txt" {
            #expect(name.range(of: #"^report\.conflict-[0-9a-f]{7}(-\d+)?\.txt$"#, options: .regularExpression) != nil, "\(name)")
        }
        // The machine that made a conflict copy says so in its status.
        let listed = try cluster.mounts.flatMap { (try statusObject($0)["conflicts"] as? [String]) ?? [] }
        #expect(Set(listed) == Set(reports.keys.filter { $0 != "report.txt" }))
        cluster.unmountAll()
        try cluster.expectAllClean()
    }

    @Test func modifyDeleteAndFileDirectoryClashKeepEverything() throws {
        let cluster = try Cluster("remote-clash", seed: ["doc.txt": "original\n", "other": "x\n"])
        defer { cluster.unmountAll() }
        try writeAndSync(cluster.path(0, "doc.txt"), "edited on 0\n")
        try createFile(cluster.path(0, "data"), Data("a file on 0\n".utf8))
        #expect(unlink(cluster.path(1, "doc.txt")) == 0)
        try FileManager.default.createDirectory(atPath: cluster.path(1, "data"), withIntermediateDirectories: false)
        try writeAndSync(cluster.path(1, "data/part1"), "a directory on 1\n")
        try writeAndSync(cluster.path(0, "other"), "y\n")
        cluster.expectConverged()
        for i in 0..<2 {
            #expect(contents(cluster.path(i, "doc.txt")) == "edited on 0\n")
            #expect(contents(cluster.path(i, "data/part1")) == "a directory on 1\n")
            let aside = try FileManager.default.contentsOfDirectory(atPath: cluster.mounts[i].point).filter { $0.hasPrefix("data.conflict-") }
            #expect(aside.count == 1)
            #expect(aside.first.flatMap { contents(cluster.path(i, $0)) } == "a file on 0\n")
        }
        cluster.unmountAll()
        try cluster.expectAllClean()
    }

    @Test func aRacingGitPushFromAPlainCloneIsMergedNotLost() throws {
        let cluster = try Cluster("remote-race", seed: ["log.txt": Self.tenLines], count: 1)
        defer { cluster.unmountAll() }
        let work = cluster.dir.sub("work")
        try run(["git", "clone", "-q", cluster.server, work], env: gitEnv)
        for round in 0..<5 {
            try createFile("\(work)/git-\(round)", Data("pushed by git \(round)\n".utf8))
            try run(["git", "-C", work, "add", "-A"], env: gitEnv)
            try run(["git", "-C", work, "commit", "-q", "-m", "git \(round)"], env: gitEnv)
            try writeAndSync(cluster.path(0, "mount-\(round)"), "written in the mount \(round)\n")
            // git itself must pull when the mount was faster (maybe more than once: the mount
            // pushes again after each of its merges); it never force-pushes either.
            var pushed = false
            for _ in 0..<20 where !pushed {
                pushed = (try? run(["git", "-C", work, "push", "-q", "origin", "main"], env: gitEnv)) != nil
                if !pushed { try run(["git", "-C", work, "pull", "-q", "--no-rebase", "origin", "main"], env: gitEnv) }
            }
            #expect(pushed, "git's push got through within 20 tries")
        }
        cluster.expectConverged()
        let files = try fileContents(cluster.mounts[0].point)
        for round in 0..<5 {
            #expect(files["git-\(round)"] == "pushed by git \(round)\n")
            #expect(files["mount-\(round)"] == "written in the mount \(round)\n")
        }
        cluster.unmountAll()
        try cluster.expectAllClean()
    }

    @Test func aServerThatIsGoneBlocksNothingAndCommitsGoOutWhenItIsBack() throws {
        let cluster = try Cluster("remote-down", count: 2)
        defer { cluster.unmountAll() }
        let away = cluster.dir.sub("server-away.git")
        #expect(rename(cluster.server, away) == 0)
        for i in 0..<3 { try writeAndSync(cluster.path(0, "offline-\(i)"), "written offline \(i)\n") }
        // The mount works as ever; its status says what is wrong and what waits.
        #expect(contents(cluster.path(0, "offline-2")) == "written offline 2\n")
        #expect(eventually(within: 15) { ((try? statusObject(cluster.mounts[0]))?["error"] as? String)?.isEmpty == false },
                "the status shows the sync error")
        let status = try statusObject(cluster.mounts[0])
        #expect((status["error"] as? String)?.contains("server.git") == true, "\(status)")
        #expect(rename(away, cluster.server) == 0)
        cluster.expectConverged(within: 90)
        #expect(contents(cluster.path(1, "offline-2")) == "written offline 2\n")
        #expect(try statusObject(cluster.mounts[0])["error"] is NSNull)
        cluster.unmountAll()
        try cluster.expectAllClean()
    }

    @Test func commitsLeftUnpushedAtUnmountAreReportedAndGoOutAtTheNextMount() throws {
        let cluster = try Cluster("remote-unmount", count: 1, arguments: ["--fetch-interval", "1", "--push-timeout", "2"])
        defer { cluster.unmountAll() }
        let away = cluster.dir.sub("server-away.git")
        #expect(rename(cluster.server, away) == 0)
        try writeAndSync(cluster.path(0, "late"), "written with the server away\n")
        cluster.unmountAll()
        let log = (try? String(contentsOfFile: cluster.dir.sub("m0.log"), encoding: .utf8)) ?? ""
        #expect(log.contains("not pushed to origin"), "log: \(log)")
        #expect(rename(away, cluster.server) == 0)
        let again = try Mount(cluster.clones[0], in: cluster.dir, arguments: ["--remote", "origin", "--fetch-interval", "1"], name: "again")
        defer { again.unmount() }
        #expect(eventually(within: 30) { cluster.tip(cluster.server) == cluster.tip(cluster.clones[0]) })
        #expect(try git(cluster.server, "show", "main:late") == "written with the server away\n")
    }

    @Test func tagsMadeInTheMountArePushedAndOnlyThoseAreDeleted() throws {
        let cluster = try Cluster("remote-tags", count: 1)
        defer { cluster.unmountAll() }
        // A tag someone else put on the server, and the same name here: never deleted there.
        try git(cluster.server, "tag", "theirs", "main")
        try git(cluster.clones[0], "tag", "theirs", "main")
        try FileManager.default.createDirectory(atPath: cluster.path(0, "@/tags/v1"), withIntermediateDirectories: false)
        #expect(eventually(within: 15) { (try? git(cluster.server, "tag", "-l", "v1")) == "v1\n" })
        try FileManager.default.removeItem(atPath: cluster.path(0, "@/tags/v1"))
        #expect(eventually(within: 15) { (try? git(cluster.server, "tag", "-l", "v1")) == "" })
        try FileManager.default.removeItem(atPath: cluster.path(0, "@/tags/theirs"))
        try writeAndSync(cluster.path(0, "after"), "x\n")
        #expect(eventually(within: 15) { cluster.tip(cluster.server) == cluster.tip(cluster.clones[0]) })
        #expect(try git(cluster.server, "tag", "-l", "theirs") == "theirs\n")
    }

    @Test func gitDaemonOnLoopbackCarriesTheSyncAndIsStoppedAndRestarted() throws {
        let dir = TempDir("remote-daemon")
        var daemon = try GitDaemon(base: dir.path)
        defer { daemon.stop() }
        let cluster = try Cluster("remote-daemon", url: { _ in daemon.url("server.git") }, dir: dir)
        defer { cluster.unmountAll() }
        try cluster.exchangeFirstFiles()
        #expect(try statusObject(cluster.mounts[0])["url"] as? String == daemon.url("server.git"))
        // The server stops: both sides go on committing; it starts again: they converge.
        daemon.stop()
        try writeAndSync(cluster.path(0, "while-stopped-0"), "a\n")
        try writeAndSync(cluster.path(1, "while-stopped-1"), "b\n")
        #expect(eventually(within: 20) { ((try? statusObject(cluster.mounts[1]))?["error"] as? String) != nil })
        daemon = try GitDaemon(base: dir.path, port: daemon.port)
        cluster.expectConverged(within: 90)
        #expect(contents(cluster.path(1, "while-stopped-0")) == "a\n")
        cluster.unmountAll()
        try cluster.expectAllClean()
    }

    /// A read-only mount follows the remote: it fast-forwards, and never commits or pushes.
    @Test func aReadOnlyMountFollowsTheRemote() throws {
        let cluster = try Cluster("remote-follow", count: 2, arguments: ["--fetch-interval", "1"])
        defer { cluster.unmountAll() }
        let follower = try Mount(cluster.clones[1], in: cluster.dir,
                                 arguments: ["--remote", "origin", "--fetch-interval", "1", "--read-only"], name: "follower")
        defer { follower.unmount() }
        cluster.mounts[1].unmount()
        cluster.mounts.removeLast()
        try writeAndSync(cluster.path(0, "news"), "fresh\n")
        #expect(eventually(within: 20) { contents(follower.path("news")) == "fresh\n" })
        #expect(cluster.tip(cluster.clones[1]) == cluster.tip(cluster.server), "fast-forwarded, nothing of its own")
        #expect(try statusObject(follower)["error"] is NSNull)
    }

    @Test func aRemoteThatIsNotConfiguredIsOneLineBeforeMounting() throws {
        let dir = TempDir("remote-bad")
        let repo = dir.sub("r.git")
        _ = try Store.open(repo)
        try FileManager.default.createDirectory(atPath: dir.sub("mnt"), withIntermediateDirectories: true)
        let (status, stderr) = try runFailing([try vostmountBinary(), "--remote", "origin", repo, dir.sub("mnt")])
        #expect(status != 0)
        #expect(stderr.contains("no remote origin") && stderr.split(separator: "\n").count == 1, "\(stderr)")
        #expect(!isMounted(dir.sub("mnt")))
        let (_, badInterval) = try runFailing([try vostmountBinary(), "--fetch-interval", "0", repo, dir.sub("mnt")])
        #expect(badInterval.contains("--fetch-interval"))
    }
}
