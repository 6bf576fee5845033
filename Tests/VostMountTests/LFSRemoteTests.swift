import Foundation
import Testing
import TestSupport

/// Git LFS across machines: a file stored in LFS on one mount reads as its content on the
/// other, its object brought from the remote's LFS endpoint (giftless over HTTP, or
/// git-lfs's own transfer to a path or `file://` remote), and a mount started before any
/// `.gitattributes` named LFS reads the pointers that arrive later as their objects.
@Suite struct LFSRemoteTests {
    static let attributes = "*.bin filter=lfs diff=lfs merge=lfs -text\n"

    /// Writes `size` random bytes to `name` in `dir` and copies them into the mount at
    /// `path`, fsynced (which commits); returns the bytes.
    static func writeRandom(_ size: Int, to path: String, via dir: TempDir, name: String) throws -> Data {
        let source = dir.sub(name)
        try run(["sh", "-c", "head -c \(size) /dev/urandom > '\(source)' && cp '\(source)' '\(path)' && sync '\(path)'"])
        return try Data(contentsOf: URL(fileURLWithPath: source))
    }

    static func size(_ path: String) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int
    }

    /// Mount 1 is mounted before the attributes exist; mount 0 then stores a file in LFS.
    /// With `--lfs-fetch all` (the default) mount 1 fetches the object from giftless as soon
    /// as the tip arrives, before anyone opens the file, and reads it as its content.
    @Test func anLFSFileTravelsThroughAnLFSServer() throws {
        let dir = TempDir("lfs-giftless")
        let server = try Giftless(in: dir)
        defer { server.stop() }
        let cluster = try Cluster("lfs-giftless", dir: dir, configure: { try git($0, "config", "lfs.url", server.url("data")) })
        defer { cluster.unmountAll() }
        try writeAndSync(cluster.path(0, ".gitattributes"), Self.attributes)
        try FileManager.default.createDirectory(atPath: cluster.path(0, "data"), withIntermediateDirectories: false)
        let content = try Self.writeRandom(3_000_000, to: cluster.path(0, "data/big.bin"), via: dir, name: "big.bin")
        let oid = try lfsOid(dir.sub("big.bin"))

        // On the server the commit holds a pointer; the object is at giftless.
        #expect(eventually(within: 30) { server.has(oid) }, "giftless got the object")
        #expect(eventually(within: 30) {
            (try? git(cluster.server, "show", "main:data/big.bin"))?.hasPrefix("version https://git-lfs.github.com/spec/v1") == true
        })
        // Mount 1 fetched it in the background: nobody has opened the file there yet.
        #expect(eventually(within: 30) { localStoreHas(cluster.clones[1], oid) }, "mount 1 fetched the object")
        #expect(Self.size(cluster.path(1, "data/big.bin")) == 3_000_000)
        #expect(FileManager.default.contents(atPath: cluster.path(1, "data/big.bin")) == content)
        let status = try statusObject(cluster.mounts[1])
        #expect(status["lfsFetch"] as? String == "all")
        #expect(status["lfsError"] is NSNull, "\(status)")
        cluster.expectConverged()
        try cluster.expectAllClean()
    }

    /// git-lfs's own transfer to a `file://` remote (objects in the server repository's
    /// `lfs/objects`), with `--lfs-fetch open`: nothing comes until a program opens the file,
    /// and `stat` gives the content's size before that.
    @Test func withLFSFetchOpenAnObjectComesWhenItsFileIsOpened() throws {
        let dir = TempDir("lfs-file-open")
        let cluster = try Cluster("lfs-file-open", url: { "file://\($0)" }, arguments: ["--fetch-interval", "1", "--lfs-fetch", "open"],
                                  dir: dir)
        defer { cluster.unmountAll() }
        try writeAndSync(cluster.path(0, ".gitattributes"), Self.attributes)
        let content = try Self.writeRandom(1_000_000, to: cluster.path(0, "one.bin"), via: dir, name: "one.bin")
        let oid = try lfsOid(dir.sub("one.bin"))
        #expect(eventually(within: 30) { localStoreHas(cluster.server, oid) }, "the push sent the object to the server's store")
        #expect(eventually(within: 30) { Self.size(cluster.path(1, "one.bin")) == 1_000_000 }, "stat gives the content's size")
        #expect(!localStoreHas(cluster.clones[1], oid), "with --lfs-fetch open nothing is fetched before an open")
        #expect(FileManager.default.contents(atPath: cluster.path(1, "one.bin")) == content)
        #expect(localStoreHas(cluster.clones[1], oid))
        #expect(try statusObject(cluster.mounts[1])["lfsFetch"] as? String == "open")
    }

    /// An object the server lacks, and a server that never answers: the open fails with EIO
    /// (after `--lfs-timeout` for the silent one), `@/status` says why, other files read on;
    /// once the object is reachable again the same open succeeds.
    @Test func anObjectThatDoesNotComeFailsItsOpenWithEIO() throws {
        let dir = TempDir("lfs-fail")
        let silent = try SilentServer()
        defer { silent.stop() }
        let cluster = try Cluster("lfs-fail", arguments: ["--fetch-interval", "1", "--lfs-fetch", "open", "--lfs-timeout", "3"], dir: dir)
        defer { cluster.unmountAll() }
        try writeAndSync(cluster.path(0, ".gitattributes"), Self.attributes)
        _ = try Self.writeRandom(20_000, to: cluster.path(0, "gone.bin"), via: dir, name: "gone.bin")
        let kept = try Self.writeRandom(30_000, to: cluster.path(0, "kept.bin"), via: dir, name: "kept.bin")
        let gone = try lfsOid(dir.sub("gone.bin"))
        #expect(eventually(within: 30) { Self.size(cluster.path(1, "kept.bin")) == 30_000 && Self.size(cluster.path(1, "gone.bin")) == 20_000 })

        // The server lost one object: git-lfs says so, and so does the open.
        try FileManager.default.removeItem(atPath: "\(cluster.server)/lfs/objects/\(gone.prefix(2))/\(gone.dropFirst(2).prefix(2))/\(gone)")
        let (status, message) = try runFailing(["cat", cluster.path(1, "gone.bin")])
        #expect(status != 0 && message.contains("Input/output error"), "\(message)")
        let missing = try statusObject(cluster.mounts[1])["lfsError"] as? String ?? ""
        #expect(missing.contains(gone.prefix(12)) && missing.contains("missing"), "\(missing)")

        // A server that hangs: the open waits --lfs-timeout, then fails, saying so.
        try git(cluster.clones[1], "config", "lfs.url", "http://127.0.0.1:\(silent.port)/data.git/info/lfs")
        let (hung, said) = try runFailing(["cat", cluster.path(1, "kept.bin")])
        #expect(hung != 0 && said.contains("Input/output error"), "\(said)")
        let silence = try statusObject(cluster.mounts[1])["lfsError"] as? String ?? ""
        #expect(silence.contains("no answer for 3 s"), "\(silence)")
        #expect(contents(cluster.path(1, "README")) == "hello\n")

        // Reachable again: the next open brings it.
        try git(cluster.clones[1], "config", "--unset", "lfs.url")
        #expect(FileManager.default.contents(atPath: cluster.path(1, "kept.bin")) == kept)
        #expect(try statusObject(cluster.mounts[1])["lfsError"] is NSNull)
    }
}
