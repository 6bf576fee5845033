import Foundation
import Testing
import TestSupport

/// Writes from a URL mount meet others' pushes: the merge needs contents the partial clone
/// never fetched (the other side's version of the file), which it fetches first.
@Suite struct URLMergeTests {
    static let tenLines = (1...10).map { "line \($0)\n" }.joined()

    @Test func aLineMergeFetchesTheOtherSidesContentFirst() throws {
        let dir = TempDir("url-merge")
        let work = dir.sub("work")
        try run(["git", "init", "-q", "-b", "main", work])
        try createFile("\(work)/notes.txt", Data(Self.tenLines.utf8))
        try run(["git", "-C", work, "add", "-A"], env: gitEnv)
        try run(["git", "-C", work, "commit", "-q", "-m", "ten lines"], env: gitEnv)
        let server = dir.sub("served.git")
        try run(["git", "clone", "-q", "--bare", work, server])
        try run(["git", "--git-dir=\(server)", "config", "uploadpack.allowFilter", "true"])
        try run(["git", "-C", work, "remote", "add", "origin", server])
        let clone = dir.sub("clone.git")
        let mount = try Mount("file://\(server)", in: dir, arguments: ["--repo", clone, "--fetch-interval", "3600"])
        defer { mount.unmount() }
        // Another machine changes the last line and pushes; the mount, not knowing, the first.
        let theirs = Self.tenLines.replacingOccurrences(of: "line 10\n", with: "line ten, theirs\n")
        try createFile("\(work)/notes.txt", Data(theirs.utf8))
        try run(["git", "-C", work, "commit", "-q", "-am", "theirs"], env: gitEnv)
        try run(["git", "-C", work, "push", "-q", "origin", "HEAD:main"], env: gitEnv)
        let theirBlob = try run(["git", "-C", work, "rev-parse", "HEAD:notes.txt"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let ours = try #require(contents(mount.path("notes.txt"))).replacingOccurrences(of: "line 1\n", with: "line one, ours\n")
        try ours.write(toFile: mount.path("notes.txt"), atomically: false, encoding: .utf8)
        try run(["sync", mount.point])
        let both = ours.replacingOccurrences(of: "line 10\n", with: "line ten, theirs\n")
        #expect(eventually(within: 60) { (try? run(["git", "--git-dir=\(server)", "show", "main:notes.txt"])) == both },
                "\((try? run(["git", "--git-dir=\(server)", "show", "main:notes.txt"])) ?? "")")
        #expect(eventually(within: 30) { contents(mount.path("notes.txt")) == both })
        #expect(try run(["ls", mount.point]) == "notes.txt\n", "a conflict copy was made")
        let local = try run(["git", "--git-dir=\(clone)", "cat-file", "--batch-all-objects", "--batch-check=%(objectname)"])
        #expect(local.contains(theirBlob), "the merge did not fetch their version")
        _ = try run(["git", "--git-dir=\(server)", "fsck", "--strict", "--no-dangling"])
    }
}
