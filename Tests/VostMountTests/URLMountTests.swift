import Foundation
import Testing
@testable import SnapshotFS
import TestSupport

/// `vostmount URL MNT`: a bare partial clone (`--filter=blob:none`) made at the first mount
/// and reused after, file contents fetched from a real server (`git daemon`, `git
/// http-backend`) when read, sizes asked without contents where the transport allows, a
/// folder's contents in one request, writes pushed back; offline, a file never read fails
/// with EIO and the rest goes on.
@Suite struct URLMountTests {
    /// A server of a generated history (`scripts/make_history.py`) that filters, and its URL.
    /// (git's upload-pack answers `object-info` over git:// and a local path: git 2.39 offers
    /// it whatever `transfer.advertiseObjectInfo` says.)
    static func server(_ dir: TempDir) throws -> (daemon: GitDaemon, server: String, url: String) {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let server = dir.sub("served/data.git")
        try FileManager.default.createDirectory(atPath: dir.sub("served"), withIntermediateDirectories: true)
        _ = try run(["python3", root + "/scripts/make_history.py", server, "--first-parent", "60", "--files", "120",
                     "--tags", "3"], env: gitEnv)
        try run(["git", "--git-dir=\(server)", "config", "uploadpack.allowFilter", "true"])
        let daemon = try GitDaemon(base: dir.sub("served"))
        return (daemon, server, daemon.url("data.git"))
    }

    /// The fetches the clone has made since it was cloned: each brings a `.promisor` pack.
    static func promisorPacks(_ repo: String) throws -> Int {
        try FileManager.default.contentsOfDirectory(atPath: "\(repo)/objects/pack").filter { $0.hasSuffix(".promisor") }.count
    }

    /// Whether the history's trees of a clone made without them arrive within 60 s (`@/status`).
    static func historyArrives(_ mount: Mount) -> Bool {
        eventually(within: 60) {
            guard let text = contents(mount.path("@/status")),
                  let status = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any],
                  let clone = status["partialClone"] as? [String: Any] else { return false }
            return clone["historyTreesFetchingSince"] is NSNull && clone["historyTreesError"] is NSNull
        }
    }

    static func git(_ repo: String, _ args: String...) throws -> String {
        try run(["git", "--git-dir=\(repo)"] + args)
    }

    /// Over https (http here) with protocol v0 (a client or server without v2), where no
    /// size-only request can be made: a folder's listing fetches its contents in one request.
    @Test func aURLMountsWithoutItsBlobsAndReadsThemWhenRead() throws {
        let dir = TempDir("url-mount")
        let (daemon, server, _) = try Self.server(dir)
        daemon.stop()  // served over http instead
        try run(["git", "--git-dir=\(server)", "config", "http.receivepack", "true"])
        let http = try HTTPGitServer(root: dir.sub("served"), dir: dir)
        defer { http.stop() }
        let url = http.url("data.git")
        let clone = dir.sub("cache/data.git")
        // (v0 hands out an object by name only with allowAnySHA1InWant.)
        try run(["git", "--git-dir=\(server)", "config", "uploadpack.allowAnySHA1InWant", "true"])
        try run(["git", "clone", "-q", "--bare", "--filter=blob:none", url, clone])
        _ = try Self.git(clone, "config", "protocol.version", "0")
        let mount = try Mount(url, in: dir, arguments: ["--repo", clone])
        defer { mount.unmount() }
        // A partial clone with every commit and tree, and no blob yet.
        #expect(try Self.git(clone, "config", "remote.origin.promisor").hasPrefix("true"))
        let blobs = try Self.git(clone, "cat-file", "--batch-all-objects", "--batch-check=%(objecttype)").split(separator: "\n")
        #expect(!blobs.contains("blob"), "the clone holds blobs already")
        // Listing a folder fetches its files' contents in one request (sizes need them), so
        // reading one of them then fetches nothing more.
        let before = try Self.promisorPacks(clone)
        #expect(try run(["ls", "-l", mount.point]).split(separator: "\n").count == 6)
        #expect(try Self.promisorPacks(clone) == before + 1)
        #expect(contents(mount.path("Makefile")) == (try Self.git(server, "show", "main:Makefile")))
        #expect(try Self.promisorPacks(clone) == before + 1)
        // A folder read whole (`tar`): one fetch for all its files, not one per file.
        let folder = "src0/part2"
        let files = try run(["ls", mount.path(folder)]).split(separator: "\n").count
        #expect(files >= 20)
        let packs = try Self.promisorPacks(clone)
        let listing = try run(["sh", "-c", "tar -cf - -C \"$0\" \(folder) | tar -tf - | wc -l", mount.point])
        #expect(Int(listing.trimmingCharacters(in: .whitespacesAndNewlines)) == files + 1)
        #expect(try Self.promisorPacks(clone) - packs <= 1, "tar of \(files) files")
        let sample = "\(folder)/" + (try run(["ls", mount.path(folder)]).split(separator: "\n").first.map(String.init) ?? "")
        #expect(contents(mount.path(sample)) == (try Self.git(server, "show", "main:\(sample)")))
        // History needs no blob to list commits; a versions folder's sizes take one request.
        let quiet = try Self.promisorPacks(clone)
        #expect(try run(["ls", mount.path("@/log")]).split(separator: "\n").count == 60)
        #expect(try Self.promisorPacks(clone) == quiet)
        #expect(try run(["ls", "-l", mount.path("@/versions/rare.txt")]).split(separator: "\n").count == 4)
        #expect(try Self.promisorPacks(clone) <= quiet + 1)
        // Writes commit and push back to the URL.
        try "from the mount\n".write(toFile: mount.path("new.txt"), atomically: false, encoding: .utf8)
        try run(["sync", mount.point])
        #expect(eventually(within: 30) { (try? Self.git(server, "show", "main:new.txt")) == "from the mount\n" })
        #expect(contents(mount.path("@/status"))?.contains("\"fetchedObjects\"") == true)
    }

    /// A server that answers `object-info` (over git://, a local path and http): listing a folder
    /// asks its files' sizes and fetches no content, sizes are git's; reading the folder
    /// through fetches the first file, then the rest with the second: two fetches in all.
    @Test(arguments: ["git", "file", "http"]) func withObjectInfoAListingFetchesNoContent(transport: String) throws {
        let dir = TempDir("url-object-info")
        let (daemon, server, gitURL) = try Self.server(dir)
        defer { daemon.stop() }
        let http = transport == "http" ? try HTTPGitServer(root: dir.sub("served"), dir: dir) : nil
        defer { http?.stop() }
        let url = http?.url("data.git") ?? (transport == "git" ? gitURL : "file://\(server)")
        // A symlink in the folder a person lists below: its target comes with the listing.
        let link = "commit refs/heads/main\ncommitter T <t@t> 1900000000 +0000\ndata 5\nlink\nfrom refs/heads/main^0\n"
            + "M 120000 inline src0/part4/link\ndata 11\nelsewhere.c\n\n"
        try run(["git", "--git-dir=\(server)", "fast-import", "--quiet"], stdin: Data(link.utf8))
        let clone = dir.sub("cache/data.git")
        let mount = try Mount(url, in: dir, arguments: ["--repo", clone])
        defer { mount.unmount() }
        // The clone was made without trees: the history's come behind the mount, in one fetch.
        #expect(Self.historyArrives(mount), "\(contents(mount.path("@/status")) ?? "")")
        #expect(try Self.git(clone, "config", "remote.origin.partialclonefilter") == "blob:none\n")
        let folder = "src0/part3"
        let packs = try Self.promisorPacks(clone)
        let listing = try run(["ls", "-l", mount.path(folder)]).split(separator: "\n").dropFirst()
        #expect(listing.count == 25)
        #expect(try Self.promisorPacks(clone) == packs, "listing fetched contents")
        for line in listing.prefix(5) {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            let name = String(fields.last ?? "")
            let size = try Self.git(server, "cat-file", "-s", "main:\(folder)/\(name)").trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(String(fields[4]) == size, "\(name)")
        }
        let archive = try run(["sh", "-c", "tar -cf - -C \"$0\" \(folder) | tar -tf - | wc -l", mount.point])
        #expect(Int(archive.trimmingCharacters(in: .whitespacesAndNewlines)) == 26)
        #expect(try Self.promisorPacks(clone) - packs <= 2, "tar of 25 files")
        let name = String(listing.first?.split(separator: " ").last ?? "")
        #expect(contents(mount.path("\(folder)/\(name)")) == (try Self.git(server, "show", "main:\(folder)/\(name)")))
        // A folder listed (its symlink's target fetched with it, no file's content), then one
        // of its files read a while later (a person, not a program reading it through): that
        // file alone is fetched.
        let other = "src0/part4"
        let listed = try Self.localBlobs(clone)
        let other0 = try run(["ls", "-l", mount.path(other)]).split(separator: "\n").dropFirst().first
        #expect(try Self.localBlobs(clone) == listed + 1, "ls -l fetched more than the symlink's target")
        #expect(try run(["readlink", mount.path("\(other)/link")]) == "elsewhere.c\n")
        let otherName = String(other0?.split(separator: " ").last ?? "")
        let blobsBefore = try Self.localBlobs(clone)
        Thread.sleep(forTimeInterval: 1.5)  // the time that tells a person from a program, not synchronisation
        #expect(contents(mount.path("\(other)/\(otherName)")) == (try Self.git(server, "show", "main:\(other)/\(otherName)")))
        #expect(try Self.localBlobs(clone) == blobsBefore + 1)
    }

    /// How many blobs the clone holds.
    static func localBlobs(_ repo: String) throws -> Int {
        let types = try run(["git", "--git-dir=\(repo)", "cat-file", "--batch-all-objects", "--batch-check=%(objecttype)"])
        return types.split(separator: "\n").filter { $0 == "blob" }.count
    }

    /// The second mount of a URL reuses its clone; offline, what was read before reads again,
    /// and a file never read fails with EIO (not a hang), while the mount goes on.
    @Test func theCloneIsReusedAndOfflineOnlyUnreadFilesFail() throws {
        let dir = TempDir("url-offline")
        let (daemon, _, url) = try Self.server(dir)
        let cache = dir.sub("xdg")
        let env = ["XDG_CACHE_HOME": cache]
        do {
            let mount = try Mount(url, in: dir, arguments: [], name: "first", prefix: ["env", "XDG_CACHE_HOME=\(cache)"])
            defer { mount.unmount() }
            #expect(Self.historyArrives(mount))
            #expect(contents(mount.path("README")) != nil)
        }
        let clones = try FileManager.default.contentsOfDirectory(atPath: "\(cache)/vostmount")
        #expect(clones.count == 1 && clones[0].hasPrefix("data-") && clones[0].hasSuffix(".git"), "\(clones)")
        let clone = "\(cache)/vostmount/\(clones[0])"
        let packs = try Self.promisorPacks(clone)
        daemon.stop()
        let mount = try Mount(url, in: dir, arguments: ["--fetch-interval", "3600"], name: "second", prefix: ["env"] + env.map { "\($0)=\($1)" })
        defer { mount.unmount() }
        #expect(contents(mount.path("README"))?.hasPrefix("/* README") == true)
        let start = Date()
        let (status, output) = try runFailing(["cat", mount.path("rare.txt")])
        #expect(status != 0 && output.contains("Input/output error"), "\(output)")
        #expect(Date().timeIntervalSince(start) < 60)
        #expect(try Self.promisorPacks(clone) == packs)
        #expect(contents(mount.path("README"))?.hasPrefix("/* README") == true)
        let log = (try? String(contentsOfFile: "\(clone)/vostmount.log", encoding: .utf8)) ?? ""
        #expect(log.contains("cannot fetch"), "\(log)")
    }

    /// A partial clone made by git mounts the same way; a bad URL or a --repo that is another
    /// URL's clone is one line and exit 1 before mounting.
    @Test func aPartialCloneByGitMountsAndBadURLsFailClearly() throws {
        let dir = TempDir("url-errors")
        let (daemon, server, url) = try Self.server(dir)
        defer { daemon.stop() }
        let clone = dir.sub("by-git.git")
        try run(["git", "clone", "-q", "--bare", "--filter=blob:none", url, clone])
        do {
            let mount = try Mount(clone, in: dir, arguments: ["--read-only"], name: "by-git")
            defer { mount.unmount() }
            #expect(contents(mount.path("Makefile")) == (try Self.git(server, "show", "main:Makefile")))
        }
        let point = dir.sub("never")
        try FileManager.default.createDirectory(atPath: point, withIntermediateDirectories: true)
        let binary = try vostmountBinary()
        let (missing, missingText) = try runFailing([binary, "--repo", dir.sub("x.git"), daemon.url("nope.git"), point])
        #expect(missing == 1 && missingText.hasPrefix("vostmount: ") && missingText.contains("cannot clone"), "\(missingText)")
        #expect(!FileManager.default.fileExists(atPath: dir.sub("x.git")))
        let (other, otherText) = try runFailing([binary, "--repo", clone, daemon.url("other.git"), point])
        #expect(other == 1 && otherText.contains("is not a clone of"), "\(otherText)")
        let (local, localText) = try runFailing([binary, "--repo", clone, server, point])
        #expect(local == 1 && localText.contains("--repo is for mounting a URL"), "\(localText)")
        #expect(!isMounted(point))
    }

    /// An LFS file in a URL mount: its pointer comes as any blob, its object from the LFS
    /// endpoint that the repository's `.lfsconfig` names (giftless), when the file is opened.
    @Test func anLFSFileOfAURLComesFromItsLFSServerWhenOpened() throws {
        let dir = TempDir("url-lfs")
        let lfs = try Giftless(in: dir)
        defer { lfs.stop() }
        let seed = [".gitattributes": LFSRemoteTests.attributes, ".lfsconfig": "[lfs]\n\turl = \(lfs.url("data"))\n"]
        let cluster = try Cluster("url-lfs", seed: seed, count: 1, dir: dir)
        defer { cluster.unmountAll() }
        let content = try LFSRemoteTests.writeRandom(2_000_000, to: cluster.path(0, "big.bin"), via: dir, name: "big.bin")
        let oid = try lfsOid(dir.sub("big.bin"))
        #expect(eventually(within: 30) { lfs.has(oid) }, "giftless got the object")
        #expect(eventually(within: 30) { (try? Self.git(cluster.server, "show", "main:big.bin"))?.hasPrefix("version ") == true })
        try run(["git", "--git-dir=\(cluster.server)", "config", "uploadpack.allowFilter", "true"])
        let daemon = try GitDaemon(base: dir.path)
        defer { daemon.stop() }
        let clone = dir.sub("url-clone.git")
        let mount = try Mount(daemon.url("server.git"), in: dir, arguments: ["--repo", clone, "--cache-size", "1M"], name: "url")
        defer { mount.unmount() }
        #expect(!localStoreHas(clone, oid))
        #expect(LFSRemoteTests.size(mount.path("big.bin")) == 2_000_000)
        #expect(FileManager.default.contents(atPath: mount.path("big.bin")) == content)
        #expect(localStoreHas(clone, oid))
        // Past --cache-size, a downloaded object goes once not read for a while, and comes
        // back when read again (through the commit's folder: the kernel holds the tip's file).
        #expect(eventually(within: 30) { !localStoreHas(clone, oid) })
        let tip = try Self.git(clone, "rev-parse", "main").prefix(12)
        #expect(FileManager.default.contents(atPath: mount.path("@\(tip)/big.bin")) == content)
    }
}
