import Foundation
import Testing
@testable import SnapshotFS
import TestSupport

/// What happens after `fusermount3 -u` returned: the last commit, and what is told when it
/// fails, with nobody watching.
@Suite struct UnmountTests {
    /// Before, a failed commit at unmount was only logged to a stderr that went nowhere, and
    /// the batch was gone.
    @Test func aBatchTheUnmountCannotCommitIsKeptAndCommittedAtTheNextMount() throws {
        let dir = TempDir("kept")
        let (repo, _, _) = try makeHistoryRepo(dir)
        let before = try tipHash(repo)
        let mount = try Mount(repo, in: dir, arguments: ["--commit-delay", "600"])
        defer { mount.unmount() }
        try sh("echo kept > kept.txt && mkdir -p sub && echo deep > sub/deep.txt", in: mount.point)
        // A lock no one can remove (a directory in its place): the last commit cannot land.
        let lock = repo + "/refs/heads/main.lock"
        try FileManager.default.createDirectory(atPath: lock, withIntermediateDirectories: false)
        try run(["touch", "-d", "-30 seconds", lock])
        mount.unmount()
        #expect(try tipHash(repo) == before)
        // The default log says what happened and where the batch is.
        let log = contents(repo + "/vostmount.log") ?? ""
        #expect(log.contains("the commit at unmount failed") && log.contains("refs/vostmount/pending/main/"), "log: \(log)")
        let refs = try git(repo, "for-each-ref", "--format=%(refname)", "refs/vostmount/pending").split(separator: "\n")
        #expect(refs.count == 1)
        let ref = String(try #require(refs.first))
        #expect(try git(repo, "show", "\(ref):kept.txt") == "kept\n")
        try FileManager.default.removeItem(atPath: lock)
        // Someone else commits meanwhile: the kept batch lands on top, both survive.
        try sh("""
            blob=$(echo other | git hash-object -w --stdin)
            tree=$(printf '100644 blob %s\\tother.txt\\n' "$blob" | git mktree)
            merged=$( (git ls-tree main; printf '100644 blob %s\\tother.txt\\n' "$blob") | git mktree)
            c=$(git commit-tree "$merged" -p main -m other) && git update-ref refs/heads/main "$c"
            """, in: dir.path, env: ["GIT_DIR": repo].merging(gitEnv) { $1 })
        let again = try Mount(repo, in: dir, arguments: ["--commit-delay", "600"], name: "again")
        defer { again.unmount() }
        #expect(contents(again.path("kept.txt")) == "kept\n")
        #expect(contents(again.path("sub/deep.txt")) == "deep\n")
        #expect(contents(again.path("other.txt")) == "other\n")
        #expect(try git(repo, "for-each-ref", "refs/vostmount/pending") == "")
        #expect((contents(repo + "/vostmount.log") ?? "").contains("committed the batch an earlier unmount kept as \(ref)"))
        try expectFsckClean(repo)
    }

    /// The last commit of a mount whose branch another writer moved is a merge, which
    /// queues notifications to the kernel: they run before the session is destroyed, and
    /// the daemon exits 0 (run in the foreground here, so its exit status is seen).
    @Test func aMergingLastCommitEndsTheDaemonCleanly() throws {
        let dir = TempDir("last-merge")
        let (repo, _, _) = try makeHistoryRepo(dir)
        for round in 0..<5 {
            let point = dir.sub("m\(round)")
            try FileManager.default.createDirectory(atPath: point, withIntermediateDirectories: true)
            let daemon = Process()
            daemon.executableURL = URL(fileURLWithPath: try vostmountBinary())
            daemon.arguments = ["-f", "--commit-delay", "600", repo, point]
            daemon.standardOutput = FileHandle.nullDevice
            daemon.standardError = FileHandle.nullDevice
            try daemon.run()
            defer { if daemon.isRunning { _ = try? run(["fusermount3", "-u", "-z", point]); daemon.waitUntilExit() } }
            #expect(eventually(within: 10) { isMounted(point) })
            // The kernel knows the files the merge will change.
            _ = try run(["ls", "-lR", point])
            try sh("echo mine-\(round) > README.md && echo new > new-\(round)", in: point)
            try sh("""
                blob=$(echo theirs-\(round) | git hash-object -w --stdin)
                tree=$( (git ls-tree main | grep -v '\tsrc$'; printf '100644 blob %s\\ttheirs-\(round)\\n' "$blob") | git mktree)
                c=$(git commit-tree "$tree" -p main -m theirs) && git update-ref refs/heads/main "$c"
                """, in: dir.path, env: ["GIT_DIR": repo].merging(gitEnv) { $1 })
            try run(["fusermount3", "-u", point])
            daemon.waitUntilExit()
            #expect(daemon.terminationReason == .exit && daemon.terminationStatus == 0,
                    "round \(round): \(daemon.terminationReason == .exit ? "exit" : "signal") \(daemon.terminationStatus)")
            #expect(try git(repo, "show", "main:new-\(round)") == "new\n")
            #expect(try git(repo, "show", "main:theirs-\(round)") == "theirs-\(round)\n")
        }
        try expectFsckClean(repo)
    }
}
