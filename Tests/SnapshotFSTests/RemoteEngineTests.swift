import Foundation
import Testing
@testable import SnapshotFS
import TestSupport

/// The engine's side of remotes, without FUSE: fetch, push (never forced), merge, and
/// vost's backup/restore with a dry run.
@Suite struct RemoteEngineTests {
    /// A server and a clone of it with `origin` configured.
    private func pair() throws -> (TempDir, Store, Store) {
        let dir = TempDir("remote-engine")
        let server = try Store.open(dir.sub("server.git"))
        _ = try server.branches["main"].write("README", bytes("hi\n"))
        try run(["git", "clone", "-q", "--bare", dir.sub("server.git"), dir.sub("local.git")], env: gitEnv)
        return (dir, server, try Store.open(dir.sub("local.git")))
    }

    /// A push refused because another push moved the ref first is a rejection (fetch, merge,
    /// push again at once), like one refused for lacking commits; a hook's refusal is an
    /// error that carries the hook's own words.
    @Test func refusalsAreToldApart() throws {
        let id = String(repeating: "a", count: 40)
        for summary in ["[rejected] (fetch first)", "[remote rejected] (failed to update ref)",
                        "[remote rejected] (cannot lock ref 'refs/heads/main': is at 1234 but expected 5678)"] {
            let result = try Remote.refusal(stdout: "To /srv/x.git\n!\t\(id):refs/heads/main\t\(summary)\nDone\n", stderr: "", branch: "main")
            #expect(result == .rejected(summary), "\(summary)")
        }
        #expect(try Remote.refusal(stdout: "To /srv/x.git\n=\t\(id):refs/heads/main\t[up to date]\nDone\n", stderr: "", branch: "main") == nil)
        #expect(throws: SnapshotError.remote("[remote rejected] (pre-receive hook declined): Files over 1 MB belong in LFS")) {
            try Remote.refusal(stdout: "!\t\(id):refs/heads/main\t[remote rejected] (pre-receive hook declined)\n",
                               stderr: "remote: Files over 1 MB belong in LFS        \nremote: error: hook declined to update refs/heads/main\n"
                                   + "To /srv/x.git\n ! [remote rejected] main -> main (pre-receive hook declined)\n",
                               branch: "main")
        }
    }

    @Test func pushIsNeverForcedAndFetchThenMergeLetsItThrough() throws {
        let (dir, server, local) = try pair()
        let remote = try Remote(store: local, name: "origin")
        #expect(remote.url == dir.sub("server.git"))
        let theirs = try server.branches["main"].write("theirs", bytes("t\n"))
        let ours = try local.branches["main"].write("ours", bytes("o\n"))
        guard case .rejected = try remote.push(branch: "main", commit: ours.commitID) else {
            Issue.record("a push over the server's new commit must be rejected")
            return
        }
        #expect(try server.branches["main"].commitID == theirs.commitID, "nothing was forced")
        let fetched = try remote.fetch(branch: "main")
        #expect(fetched == theirs.commitID)
        #expect(try remote.tracking("main") == theirs.commitID)
        let outcome = try local.merge(theirs.commitID, into: "main", label: "origin/main")
        #expect(outcome.kind == .merged)
        #expect(try remote.push(branch: "main", commit: outcome.tip) == .pushed)
        #expect(try server.branches["main"].commitID == outcome.tip)
        #expect(try server.branches["main"].readText("ours") == "o\n")
        #expect(try server.branches["main"].readText("theirs") == "t\n")
        #expect(try remote.tracking("main") == outcome.tip)
        try expectFsckClean(dir.sub("server.git"))
    }

    @Test func aMirrorCloneStillPushesOnlyTheBranch() throws {
        let (dir, server, _) = try pair()
        try run(["git", "clone", "-q", "--mirror", dir.sub("server.git"), dir.sub("mirror.git")], env: gitEnv)
        let mirror = try Store.open(dir.sub("mirror.git"))
        let mine = try mirror.branches["main"].write("from-mirror", bytes("m\n"))
        try mirror.branches.set("local-only", to: mine)
        #expect(try Remote(store: mirror, name: "origin").push(branch: "main", commit: mine.commitID) == .pushed)
        #expect(try server.branches["main"].commitID == mine.commitID)
        #expect(try !server.branches.contains("local-only"), "only the branch named is pushed")
    }

    @Test func errorsAreOneLineAndNameTheRemote() throws {
        let (dir, _, local) = try pair()
        #expect(throws: SnapshotError.self) { try Remote(store: local, name: "nowhere") }
        try git(dir.sub("local.git"), "remote", "add", "gone", dir.sub("missing.git"))
        let gone = try Remote(store: local, name: "gone")
        do {
            try gone.fetch(branch: "main")
            Issue.record("a fetch from a missing repository must fail")
        } catch SnapshotError.remote(let message) {
            #expect(message.contains("gone") && message.contains("missing.git") && !message.contains("\n"), "\(message)")
        }
        #expect(Remote.withoutCredentials("https://user:tok@example.com/r.git") == "https://example.com/r.git")
        #expect(Remote.withoutCredentials("https://TOKEN@example.com/r.git") == "https://example.com/r.git")
        #expect(Remote.withoutCredentials("ssh://git:pw@example.com/r.git") == "ssh://git@example.com/r.git")
        #expect(Remote.withoutCredentials("git@example.com:r.git") == "git@example.com:r.git")
    }

    @Test func backupMirrorsEveryRefAndRestoreOnlyAdds() throws {
        let (dir, store) = try makeStore()
        _ = try store.branches["main"].write("a", bytes("a"))
        try store.tags.set("v1", to: try store.branches["main"])
        try store.branches.set("dev", to: try store.branches["main"].write("b", bytes("b")))
        let target = dir.sub("backup.git")
        let preview = try store.backup(to: target, dryRun: true)
        #expect(Set(preview.add.map(\.ref)) == ["refs/heads/main", "refs/heads/dev", "refs/tags/v1"])
        #expect(!FileManager.default.fileExists(atPath: target), "a dry run changes nothing")
        let done = try store.backup(to: target)
        #expect(done == preview)
        #expect(try store.backup(to: target, dryRun: true).inSync)
        // A ref only the backup has is deleted by the next backup (a mirror)...
        try git(target, "branch", "stray", "main")
        #expect(try store.backup(to: target).delete.map(\.ref) == ["refs/heads/stray"])
        #expect((try? git(target, "rev-parse", "--verify", "-q", "refs/heads/stray")) == nil)
        // ...while restore only adds and updates: a local-only ref stays.
        let (other, copy) = try makeStore("restore")
        _ = other
        try copy.branches.set("local-only", to: try copy.branches["main"])
        let restored = try copy.restore(from: target)
        #expect(restored.delete.isEmpty)
        #expect(try copy.branches["dev"].readText("b") == "b")
        #expect(try copy.tags["v1"].readText("a") == "a")
        #expect(try copy.branches.contains("local-only"))
        #expect(try copy.restore(from: target, dryRun: true).inSync)
    }
}
