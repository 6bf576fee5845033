import Foundation
import Testing
@testable import SnapshotFS
import TestSupport

/// `--cache-size`: what a URL mount fetched when read is kept within a bound, the least
/// recently read dropped first (whole packs, and LFS objects), read again from the server
/// when asked again; the clone's own pack and what was written here are never dropped, and
/// the space is given back at once (the daemon keeps no dropped pack open).
@Suite struct URLCacheTests {
    /// A served repository of `count` folders holding one file of `size` random bytes each.
    static func server(_ dir: TempDir, count: Int, size: Int) throws -> (server: String, files: [String: Data]) {
        let work = dir.sub("work")
        try run(["git", "init", "-q", "-b", "main", work])
        var files: [String: Data] = [:]
        for index in 0..<count {
            let name = "d\(index)/file.bin"
            try FileManager.default.createDirectory(atPath: "\(work)/d\(index)", withIntermediateDirectories: true)
            var bytes = [UInt8](repeating: 0, count: size)
            for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255) }
            files[name] = Data(bytes)
            try Data(bytes).write(to: URL(fileURLWithPath: "\(work)/\(name)"))
        }
        try run(["git", "-C", work, "add", "-A"], env: gitEnv)
        try run(["git", "-C", work, "commit", "-q", "-m", "files"], env: gitEnv)
        let server = dir.sub("served.git")
        try run(["git", "clone", "-q", "--bare", work, server])
        try run(["git", "--git-dir=\(server)", "config", "uploadpack.allowFilter", "true"])
        return (server, files)
    }

    /// Bytes on disk of the clone's packs that hold only what was fetched when read (blob-only
    /// promisor packs), as the daemon counts them.
    static func fetchedPackBytes(_ clone: String, besides initial: Set<String>) throws -> Int {
        let folder = "\(clone)/objects/pack"
        var total = 0
        var info = stat()
        for name in try FileManager.default.contentsOfDirectory(atPath: folder) where !initial.contains(name) {
            if lstat("\(folder)/\(name)", &info) == 0 { total += Int(info.st_blocks) * 512 }
        }
        return total
    }

    static func status(_ mount: Mount) -> [String: Any] {
        guard let text = contents(mount.path("@/status")), let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)),
              let status = object as? [String: Any] else { return [:] }
        return status["partialClone"] as? [String: Any] ?? [:]
    }

    @Test func fetchedContentsStayWithinTheCacheSizeLeastRecentlyReadFirst() throws {
        let dir = TempDir("url-cache")
        let (server, files) = try Self.server(dir, count: 6, size: 100_000)
        let clone = dir.sub("clone.git")
        // Cloned by git: the first mount's own clone also fetches one file, to see that the
        // server hands out objects by name (`PartialClone.handsOutObjects`).
        try run(["git", "clone", "-q", "--bare", "--filter=blob:none", "file://\(server)", clone])
        let limit = 250 * 1024
        let mount = try Mount("file://\(server)", in: dir, arguments: ["--repo", clone, "--cache-size", "250k"])
        defer { mount.unmount() }
        let initial = Set(try FileManager.default.contentsOfDirectory(atPath: "\(clone)/objects/pack"))
        #expect(Self.status(mount)["cacheLimit"] as? Int == limit)
        // Six files read one after the other, each its own fetch (no folder listed).
        for index in 0..<6 {
            let name = "d\(index)/file.bin"
            #expect(FileManager.default.contents(atPath: mount.path(name)) == files[name], "\(name)")
        }
        // Past the bound, the least recently read go (once not read for a few seconds).
        #expect(eventually(within: 30) {
            (try? Self.fetchedPackBytes(clone, besides: initial)).map { $0 <= limit } == true
                && (Self.status(mount)["droppedFromCache"] as? Int ?? 0) >= 3
        }, "\(Self.status(mount))")
        // (`git cat-file -e` would fetch a missing blob: the list of local objects does not.)
        let here = { (name: String) in
            let blob = try Self.git(server, "rev-parse", "main:\(name)").trimmingCharacters(in: .whitespacesAndNewlines)
            return try Self.localObjects(clone).contains(blob)
        }
        #expect(try !here("d0/file.bin"), "the first read stayed")
        #expect(try here("d5/file.bin"), "the last read went")
        #expect((Self.status(mount)["cacheBytes"] as? Int ?? .max) <= limit, "\(Self.status(mount))")
        // The clone's own pack stays, and the daemon holds no dropped pack open.
        #expect(initial.allSatisfy { FileManager.default.fileExists(atPath: "\(clone)/objects/pack/\($0)") })
        let pid = try #require(try daemonPID(of: mount.point))
        let held = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")
            .compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\($0)") }
        #expect(!held.contains { $0.contains(".pack") && $0.hasSuffix("(deleted)") }, "\(held)")
        // What was dropped reads again, fetched again; what was written here is never dropped.
        try "written here\n".write(toFile: mount.path("mine.txt"), atomically: false, encoding: .utf8)
        try run(["sync", mount.point])
        let mine = try run(["git", "hash-object", "--stdin"], stdin: Data("written here\n".utf8))
            .trimmingCharacters(in: .whitespacesAndNewlines)
        // (Through the commit's own folder: the kernel still holds the tip's files read above.)
        let tip = try Self.git(server, "rev-parse", "main").prefix(12)
        for index in 0..<3 {
            let name = "d\(index)/file.bin"
            #expect(FileManager.default.contents(atPath: mount.path("@\(tip)/\(name)")) == files[name], "\(name) again")
        }
        #expect(eventually(within: 30) { (Self.status(mount)["droppedFromCache"] as? Int ?? 0) >= 6 }, "\(Self.status(mount))")
        #expect(try Self.localObjects(clone).contains(mine), "the written file's content went")
        _ = try run(["git", "--git-dir=\(clone)", "fsck", "--connectivity-only", "--no-dangling"])
    }

    /// Files read one by one make a pack each: past 40 the least recently read are merged,
    /// and `git gc` (which `git fetch` runs past 50 packs) leaves them kept, still dropped by
    /// when they were read, instead of repacking them with the commits for good.
    @Test func manyFetchesAreMergedAndGitGCLeavesThemDroppable() throws {
        let dir = TempDir("url-cache-merge")
        let (server, files) = try Self.server(dir, count: 48, size: 3_000)
        let clone = dir.sub("clone.git")
        // Cloned by git: the first mount's own clone also fetches one file, to see that the
        // server hands out objects by name (`PartialClone.handsOutObjects`).
        try run(["git", "clone", "-q", "--bare", "--filter=blob:none", "file://\(server)", clone])
        let mount = try Mount("file://\(server)", in: dir, arguments: ["--repo", clone, "--cache-size", "100M"])
        defer { mount.unmount() }
        for index in 0..<48 {
            let name = "d\(index)/file.bin"
            #expect(FileManager.default.contents(atPath: mount.path(name)) == files[name], "\(name)")
        }
        let kept = { try FileManager.default.contentsOfDirectory(atPath: "\(clone)/objects/pack").filter { $0.hasSuffix(".keep") }.count }
        #expect(Self.status(mount)["fetches"] as? Int == 48)
        #expect(eventually(within: 30) { (try? kept()).map { $0 <= FetchedContent.mergeAbove } == true }, "\((try? kept()) ?? -1) packs")
        let allBlobs = try Self.localObjects(clone)
        for name in files.keys {
            let blob = try Self.git(server, "rev-parse", "main:\(name)").trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(allBlobs.contains(blob), "\(name) lost in the merge")
        }
        let before = try kept()
        _ = try run(["git", "--git-dir=\(clone)", "gc", "--quiet"])
        #expect(try kept() == before, "git gc took the fetched packs")
        _ = try run(["git", "--git-dir=\(clone)", "fsck", "--connectivity-only", "--no-dangling"])
        let tip = try Self.git(server, "rev-parse", "main").prefix(12)
        #expect(FileManager.default.contents(atPath: mount.path("@\(tip)/d7/file.bin")) == files["d7/file.bin"])
        #expect(Self.status(mount)["fetches"] as? Int == 48, "a merged file was fetched again")
    }

    /// `--cache-size` on a complete repository is one line and exit 1: nothing is fetched there.
    @Test func aCacheSizeForACompleteRepositoryIsRefused() throws {
        let dir = TempDir("url-cache-refused")
        let repo = dir.sub("data.git")
        try run(["git", "init", "-q", "--bare", repo])
        let point = dir.sub("mnt")
        try FileManager.default.createDirectory(atPath: point, withIntermediateDirectories: true)
        let (status, text) = try runFailing([try vostmountBinary(), "--cache-size", "1G", repo, point])
        #expect(status == 1 && text.contains("--cache-size 1G") && text.contains("complete repository"), "\(text)")
        let (bad, badText) = try runFailing([try vostmountBinary(), "--cache-size", "lots", repo, point])
        #expect(bad == 1 && badText.contains("not a size"), "\(badText)")
        #expect(!isMounted(point))
    }

    static func localObjects(_ repo: String) throws -> Set<String> {
        Set(try run(["git", "--git-dir=\(repo)", "cat-file", "--batch-all-objects", "--batch-check=%(objectname)"])
            .split(separator: "\n").map(String.init))
    }

    static func git(_ repo: String, _ args: String...) throws -> String {
        try run(["git", "--git-dir=\(repo)"] + args)
    }
}
