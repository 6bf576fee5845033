import Foundation
import Testing
import TestSupport

/// A URL mount and the server as it is: another machine's push racing a write (the merge
/// needs contents the partial clone never fetched), a server that cannot hand out objects
/// one by one.
@Suite struct URLServerTests {
    static let tenLines = (1...10).map { "line \($0)\n" }.joined()

    /// A served repository with `notes.txt` of ten lines, and the work tree it came from.
    static func server(_ dir: TempDir) throws -> (server: String, work: String) {
        let work = dir.sub("work")
        try run(["git", "init", "-q", "-b", "main", work])
        try createFile("\(work)/notes.txt", Data(Self.tenLines.utf8))
        try run(["git", "-C", work, "add", "-A"], env: gitEnv)
        try run(["git", "-C", work, "commit", "-q", "-m", "ten lines"], env: gitEnv)
        let server = dir.sub("served.git")
        try run(["git", "clone", "-q", "--bare", work, server])
        try run(["git", "--git-dir=\(server)", "config", "uploadpack.allowFilter", "true"])
        try run(["git", "-C", work, "remote", "add", "origin", server])
        return (server, work)
    }

    /// Writes from a URL mount meet another machine's push: the line merge fetches the other
    /// side's version of the file first.
    @Test func aLineMergeFetchesTheOtherSidesContentFirst() throws {
        let dir = TempDir("url-merge")
        let (server, work) = try Self.server(dir)
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

    /// A server that filters but hands out no object by name (protocol v0 without
    /// `uploadpack.allowAnySHA1InWant`, as over an sshd that does not accept GIT_PROTOCOL):
    /// no content could ever come later, so the first mount clones it whole, and says so.
    @Test func aServerThatCannotHandOutOneObjectIsClonedWhole() throws {
        let dir = TempDir("url-v0")
        let (server, _) = try Self.server(dir)
        let clone = dir.sub("clone.git")
        let point = dir.sub("mnt")
        try FileManager.default.createDirectory(atPath: point, withIntermediateDirectories: true)
        let v0 = ["env", "GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=protocol.version", "GIT_CONFIG_VALUE_0=0"]
        let said = try run(["sh", "-c", "\"$@\" 2>&1", "sh"] + v0 + [try vostmountBinary(), "--repo", clone, "file://\(server)", point])
        defer { _ = try? run(["fusermount3", "-u", point]) }
        #expect(said.contains("cannot hand out one object by name") && said.contains("cloning it whole"), "\(said)")
        #expect(contents("\(point)/notes.txt") == Self.tenLines)
        let promisor = try? run(["git", "--git-dir=\(clone)", "config", "remote.origin.promisor"])
        #expect(promisor == nil, "still a partial clone")
    }

    /// The first mount clones commits only; the tip lists at once, history folders list right
    /// away too (their trees fetched alone, or after the bulk fetch of the history's trees that
    /// follows the mount), the same as git shows them; once the trees are here the clone's
    /// commits-only pack, fetched again with them, is gone.
    @Test func aURLMountsWithItsCommitsAndTheHistorysTreesFollow() throws {
        let dir = TempDir("url-treeless")
        let (daemon, server, url) = try URLMountTests.server(dir)
        defer { daemon.stop() }
        let clone = dir.sub("clone.git")
        let mount = try Mount(url, in: dir, arguments: ["--repo", clone])
        defer { mount.unmount() }
        let versions = try run(["ls", mount.path("@/versions/rare.txt")]).split(separator: "\n").count
        #expect(versions == 3, "versions of rare.txt")
        let old = try run(["git", "--git-dir=\(server)", "ls-tree", "--name-only", "main~40"])
        #expect(try run(["ls", "-A", mount.path("@~40")]) == old)
        #expect(try run(["ls", mount.path("@/log")]).split(separator: "\n").count == 60)
        #expect(URLMountTests.historyArrives(mount), "\(contents(mount.path("@/status")) ?? "")")
        let trees = try run(["git", "--git-dir=\(server)", "rev-list", "--all", "--objects", "--filter=blob:none", "--filter-provided-objects"])
            .split(separator: "\n").count
        let here = try run(["git", "--git-dir=\(clone)", "cat-file", "--batch-all-objects", "--batch-check=%(objecttype)"])
            .split(separator: "\n").filter { $0 != "blob" }.count
        #expect(here == trees, "commits and trees: \(here) here, \(trees) on the server")
        let tip = try run(["git", "--git-dir=\(server)", "rev-parse", "main"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let folder = "\(clone)/objects/pack"
        let holding = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".idx") }.filter {
            (try? run(["sh", "-c", "git show-index < \"$0\"", "\(folder)/\($0)"]))?.contains(tip) == true
        }
        #expect(holding.count == 1, "the tip commit is in \(holding.count) packs")
    }
}
