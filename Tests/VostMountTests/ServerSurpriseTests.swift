import Foundation
import Testing
@testable import SnapshotFS
import TestSupport

/// What a server can do behind a mount's back, and what the mount says: a hook that refuses
/// a push, history rewritten, the branch deleted.
@Suite struct ServerSurpriseTests {
    /// A server hook's refusal: `@/status` says why in the hook's own words (before, only
    /// "pre-receive hook declined").
    @Test func aHooksRefusalIsReportedWithItsMessage() throws {
        let cluster = try Cluster("hook", count: 1)
        defer { cluster.unmountAll() }
        let hook = cluster.server + "/hooks/pre-receive"
        try createFile(hook, Data("#!/bin/sh\necho 'Pushes are closed for the release freeze' >&2\nexit 1\n".utf8))
        try run(["chmod", "+x", hook])
        try writeAndSync(cluster.path(0, "frozen.txt"), "x\n")
        let mount = cluster.mounts[0]
        #expect(eventually(within: 20) {
            let error = (try? statusObject(mount))?["error"] as? String ?? ""
            return error.contains("pre-receive hook declined") && error.contains("Pushes are closed for the release freeze")
        }, "status: \(contents(mount.path("@/status")) ?? "")")
        // `ahead` is counted when the status is read: right after each fsync, not at the next
        // push or fetch (before, it said 0 while commits waited).
        let serverTip = try #require(cluster.tip(cluster.server))
        for n in 2...3 {
            try writeAndSync(cluster.path(0, "frozen-\(n).txt"), "x\n")
            let status = try statusObject(mount)
            let local = try git(cluster.clones[0], "rev-list", "--count", "main", "^refs/remotes/origin/main").trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(status["ahead"] as? Int == Int(local) && Int(local) ?? 0 >= n, "ahead \(status["ahead"] ?? "-") vs git's \(local)")
        }
        let status = try statusObject(mount)
        #expect(status["lastFetchedTip"] as? String == serverTip)
        #expect(status["lastPushedTip"] is NSNull, "nothing was pushed")
        #expect(status.keys.contains("syncingSince"))
        try FileManager.default.removeItem(atPath: hook)
    }

    /// History rewritten on the server (a force-push of an unrelated line): merged, as before,
    /// so nothing is lost, but now said in `@/status` and the log.
    @Test func aRewrittenHistoryOnTheServerIsSaidAndMerged() throws {
        let cluster = try Cluster("rewrite", count: 1)
        defer { cluster.unmountAll() }
        let mount = cluster.mounts[0]
        #expect(eventually(within: 20) { (try? statusObject(mount))?["lastFetchedTip"] is String })
        let scratch = cluster.dir.sub("other")
        try run(["git", "init", "-q", "-b", "main", scratch], env: gitEnv)
        try createFile(scratch + "/rewritten.txt", Data("new line\n".utf8))
        try run(["git", "-C", scratch, "add", "-A"], env: gitEnv)
        try run(["git", "-C", scratch, "commit", "-q", "-m", "unrelated"], env: gitEnv)
        try run(["git", "-C", scratch, "push", "-q", "-f", cluster.server, "main"], env: gitEnv)
        #expect(eventually(within: 20) { ((try? statusObject(mount))?["notice"] as? String ?? "").contains("is not a descendant of what was fetched before") },
                "status: \(contents(mount.path("@/status")) ?? "")")
        #expect(eventually(within: 10) { contents(mount.path("rewritten.txt")) == "new line\n" })
        #expect(contents(mount.path("README")) == "hello\n", "nothing of ours is lost")
        #expect((contents(cluster.dir.sub("m0.log")) ?? "").contains("history was rewritten on the server"))
    }

    /// The branch deleted on the server: said; nothing local is lost; this mount's next commit
    /// pushes it back.
    @Test func aBranchDeletedOnTheServerIsSaidAndPushedBackByTheNextCommit() throws {
        let cluster = try Cluster("deleted", count: 1)
        defer { cluster.unmountAll() }
        let mount = cluster.mounts[0]
        #expect(eventually(within: 20) { (try? statusObject(mount))?["lastFetchedTip"] is String })
        try git(cluster.server, "update-ref", "-d", "refs/heads/main")
        #expect(eventually(within: 20) { ((try? statusObject(mount))?["notice"] as? String ?? "").contains("is gone from the server") },
                "status: \(contents(mount.path("@/status")) ?? "")")
        #expect(contents(mount.path("README")) == "hello\n")
        try writeAndSync(cluster.path(0, "after.txt"), "back\n")
        #expect(eventually(within: 20) { (try? git(cluster.server, "show", "main:after.txt")) == "back\n" })
        #expect(try git(cluster.server, "show", "main:README") == "hello\n")
    }
}
