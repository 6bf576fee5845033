import Foundation
import Testing
@testable import SnapshotFS
import TestSupport

/// Repositories made by someone else, crafted with git plumbing: each crafted thing costs at
/// most its own entry, and nothing in them makes the daemon read, write or run anything
/// outside the repository. (docs/namespace.md, "Hostile repositories", lists every case.)
@Suite struct HostileRepositoryTests {
    /// A tree object written byte for byte, entries in the order given: `git mktree`
    /// refuses some of these names.
    static func rawTree(_ repo: String, _ entries: [(mode: String, name: [UInt8], id: String)]) throws -> String {
        var data = Data()
        for entry in entries {
            data += Data("\(entry.mode) ".utf8) + Data(entry.name) + Data([0])
            var hex = Substring(entry.id)
            while !hex.isEmpty {
                data.append(UInt8(hex.prefix(2), radix: 16)!)
                hex = hex.dropFirst(2)
            }
        }
        return try run(["git", "--git-dir=\(repo)", "hash-object", "-t", "tree", "--literally", "-w", "--stdin"], stdin: data)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func blob(_ repo: String, _ text: String) throws -> String {
        try run(["git", "--git-dir=\(repo)", "hash-object", "-w", "--stdin"], stdin: Data(text.utf8)).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Commits `tree` on main (on top of its tip, if any).
    static func commit(_ repo: String, _ tree: String, _ message: String = "crafted") throws -> String {
        let parent = (try? git(repo, "rev-parse", "-q", "--verify", "main").trimmingCharacters(in: .whitespacesAndNewlines)) ?? ""
        let id = try run(["git", "--git-dir=\(repo)", "commit-tree", tree, "-m", message] + (parent.isEmpty ? [] : ["-p", parent]), env: gitEnv)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        try git(repo, "update-ref", "refs/heads/main", id)
        return id
    }

    /// Names git refuses to check out, each as a directory holding a `config` whose
    /// fsmonitor would run a command, beside one plain file.
    static let refusedNames: [[UInt8]] = [
        ".git", ".GIT", ".Git", ".git.", ".git ", ".git. .", "git~1", "GIT~1", ".git:stream", ".git\\x",
        ".g\u{200C}it", "\u{FEFF}.git", ".gi\u{206A}t", ".", "..", "", "a/b",
    ].map { Array($0.utf8) }

    /// (git's own transport refuses a tree with an empty name, so a fetch never brings one.)
    static func craftGitNames(_ repo: String, marker: String, names: [[UInt8]] = refusedNames) throws -> String {
        let config = try blob(repo, "[core]\n\tfsmonitor = touch \(marker)\n\trepositoryformatversion = 0\n\tbare = false\n")
        let head = try blob(repo, "ref: refs/heads/main\n")
        let gitDir = try rawTree(repo, [("100644", Array("HEAD".utf8), head), ("100644", Array("config".utf8), config)])
        let plain = try blob(repo, "plain\n")
        return try rawTree(repo, names.map { ("40000", $0, gitDir) } + [("100644", Array("plain.txt".utf8), plain)])
    }

    static func expectNoRefusedName(in point: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let listed = (try? FileManager.default.contentsOfDirectory(atPath: point)) ?? []
        #expect(listed == ["plain.txt"] || Set(listed).isSubset(of: ["plain.txt", "new.txt"]), "listed: \(listed)", sourceLocation: sourceLocation)
        for name in refusedNames where !name.isEmpty && name != Array(".".utf8) && name != Array("..".utf8) && !name.contains(0x2F) {
            var info = stat()
            let found = (point + "/" + String(decoding: name, as: UTF8.self)).withCString { lstat($0, &info) } == 0
            #expect(!found, "\(String(decoding: name, as: UTF8.self).debugDescription) is found", sourceLocation: sourceLocation)
        }
    }

    @Test func namesGitRefusesAreNeverServedNorCommitted() throws {
        let dir = TempDir("gitnames")
        let repo = dir.sub("repo.git")
        try run(["git", "init", "-q", "--bare", "-b", "main", repo])
        let marker = dir.sub("fsmonitor-ran")
        _ = try Self.commit(repo, try Self.craftGitNames(repo, marker: marker))
        let mount = try Mount(repo, in: dir, arguments: ["--commit-delay", "600"])
        defer { mount.unmount() }
        Self.expectNoRefusedName(in: mount.point)
        Self.expectNoRefusedName(in: mount.path("@~0"))
        let logEntry = try #require(try FileManager.default.contentsOfDirectory(atPath: mount.path("@/log")).last)
        Self.expectNoRefusedName(in: mount.path("@/log/\(logEntry)"))
        #expect(contents(mount.path("plain.txt")) == "plain\n")
        // What a shell prompt runs on `cd`: no repository here, so no fsmonitor command.
        _ = try? run(["git", "-C", mount.point, "status"], env: ["GIT_CEILING_DIRECTORIES": dir.path])
        #expect(!FileManager.default.fileExists(atPath: marker), "git ran the crafted fsmonitor")
        // Creating one through the mount is refused too.
        for name in [".GIT", ".git.", "git~1", ".g\u{200C}it"] {
            let (_, refused) = try runFailing(["mkdir", mount.path(name)])
            #expect(refused.contains("Operation not permitted"), "\(name): \(refused)")
        }
        // A commit of the root writes none of them.
        try sh("echo new > new.txt && sync new.txt", in: mount.point)
        #expect(try git(repo, "ls-tree", "--name-only", "main") == "new.txt\nplain.txt\n")
    }

    @Test func namesGitRefusesArriveByFetchAndAreNotServed() throws {
        let cluster = try Cluster("gitnames-remote", count: 1)
        defer { cluster.unmountAll() }
        let marker = cluster.dir.sub("fsmonitor-ran")
        let tree = try Self.craftGitNames(cluster.server, marker: marker, names: Self.refusedNames.filter { !$0.isEmpty })
        let crafted = try Self.commit(cluster.server, tree, "from a stranger")
        let mount = cluster.mounts[0]
        #expect(eventually(within: 20) { (try? statusObject(mount))?["tip"] as? String == crafted }, "the mount took the commit in")
        Self.expectNoRefusedName(in: mount.point)
        _ = try? run(["git", "-C", mount.point, "status"], env: ["GIT_CEILING_DIRECTORIES": cluster.dir.path])
        #expect(!FileManager.default.fileExists(atPath: marker))
    }

    /// A submodule, a missing blob, a corrupt object and a missing subtree in one directory:
    /// everything else is listed and read, each bad entry answers EIO; a tree whose only
    /// oddity is a submodule walks cleanly with find, tar and cp.
    @Test func badEntriesCostOnlyThemselves() throws {
        let dir = TempDir("badentries")
        let repo = dir.sub("repo.git")
        try run(["git", "init", "-q", "--bare", "-b", "main", repo])
        let ok = try Self.blob(repo, "ok\n")
        let corrupt = "2222222222222222222222222222222222222222"
        try FileManager.default.createDirectory(atPath: repo + "/objects/22", withIntermediateDirectories: true)
        try createFile(repo + "/objects/22/" + corrupt.dropFirst(2), Data("not zlib at all\n".utf8))
        let submodule = "4444444444444444444444444444444444444444"
        let bad = try Self.rawTree(repo, [
            ("100644", Array("corrupt.txt".utf8), corrupt),
            ("100644", Array("missing.txt".utf8), "1111111111111111111111111111111111111111"),
            ("40000", Array("missingdir".utf8), "3333333333333333333333333333333333333333"),
            ("100644", Array("ok.txt".utf8), ok),
            ("160000", Array("submod".utf8), submodule),
        ])
        let clean = try Self.rawTree(repo, [("100644", Array("ok.txt".utf8), ok), ("160000", Array("submod".utf8), submodule)])
        let twice = try Self.rawTree(repo, [("100644", Array("dup.txt".utf8), ok), ("100644", Array("dup.txt".utf8), try Self.blob(repo, "second\n"))])
        _ = try Self.commit(repo, try Self.rawTree(repo, [("40000", Array("bad".utf8), bad), ("40000", Array("clean".utf8), clean),
                                                          ("40000", Array("twice".utf8), twice)]))
        let mount = try Mount(repo, in: dir)
        defer { mount.unmount() }
        #expect(try FileManager.default.contentsOfDirectory(atPath: mount.path("bad")).sorted()
                == ["corrupt.txt", "missing.txt", "missingdir", "ok.txt", "submod"])
        #expect(try run(["ls", mount.path("@~0/bad")]) == "corrupt.txt\nmissing.txt\nmissingdir\nok.txt\nsubmod\n")
        #expect(contents(mount.path("bad/ok.txt")) == "ok\n")
        for name in ["missing.txt", "corrupt.txt", "missingdir"] {
            for place in ["bad", "@~0/bad"] {
                let (_, message) = try runFailing(["stat", mount.path("\(place)/\(name)")])
                #expect(message.contains("Input/output error"), "\(place)/\(name): \(message)")
            }
        }
        #expect(try run(["ls", "-A", mount.path("bad/submod")]) == "")
        #expect(try run(["stat", "-c", "%F %a", mount.path("bad/submod")]) == "directory 555\n")
        // The walkers over a tree with a submodule: exit 0, everything there.
        let found = try run(["find", mount.path("clean")])
        #expect(found.contains("clean/submod\n") && found.contains("clean/ok.txt\n"))
        #expect(try run(["sh", "-c", "tar -cf - -C '\(mount.path("clean"))' . | tar -tf -"]).split(separator: "\n").sorted()
                == ["./", "./ok.txt", "./submod/"])
        try run(["cp", "-r", mount.path("clean"), dir.sub("copy")])
        #expect(contents(dir.sub("copy/ok.txt")) == "ok\n")
        // The same in history, and in the log's view of the commit.
        for place in ["@~0/clean", "@/log/\(try run(["ls", mount.path("@/log")]).trimmingCharacters(in: .whitespacesAndNewlines))/clean"] {
            #expect(try run(["ls", "-A", mount.path("\(place)/submod")]) == "", "\(place)")
            #expect(try run(["stat", "-c", "%F %a", mount.path("\(place)/submod")]) == "directory 555\n", "\(place)")
            #expect(try run(["find", mount.path(place)]).contains("/submod\n"), "\(place)")
            #expect(try run(["sh", "-c", "tar -cf - -C '\(mount.path(place))' . | tar -tf -"]).split(separator: "\n").sorted()
                    == ["./", "./ok.txt", "./submod/"], "\(place)")
        }
        // A name twice in one tree: shown once, the first.
        for place in ["twice", "@~0/twice"] {
            #expect(try run(["ls", "-A", mount.path(place)]) == "dup.txt\n")
            #expect(contents(mount.path("\(place)/dup.txt")) == "ok\n")
        }
        // The daemon is fine.
        #expect(contents(mount.path("bad/ok.txt")) == "ok\n")
    }

    // MARK: Git LFS store

    /// A bare repository whose `secret.bin` is an LFS pointer to `content`, with
    /// `.gitattributes` naming `*.bin`; the store is made by the caller. Returns the oid.
    static func lfsRepo(_ repo: String, content: Data, claimedSize: String? = nil) throws -> String {
        try run(["git", "init", "-q", "--bare", "-b", "main", repo])
        let oid = String(try run(["sha256sum"], stdin: content).prefix(64))
        let pointer = try blob(repo, "version https://git-lfs.github.com/spec/v1\noid sha256:\(oid)\nsize \(claimedSize ?? String(content.count))\n")
        let attributes = try blob(repo, "*.bin filter=lfs diff=lfs merge=lfs -text\n")
        let plain = try blob(repo, "plain\n")
        _ = try commit(repo, try rawTree(repo, [
            ("100644", Array(".gitattributes".utf8), attributes), ("100644", Array("plain.txt".utf8), plain),
            ("100644", Array("secret.bin".utf8), pointer),
        ]))
        try FileManager.default.createDirectory(atPath: "\(repo)/lfs/objects/\(oid.prefix(2))/\(oid.dropFirst(2).prefix(2))",
                                                withIntermediateDirectories: true)
        return oid
    }

    static func objectPath(_ repo: String, _ oid: String) -> String {
        "\(repo)/lfs/objects/\(oid.prefix(2))/\(oid.dropFirst(2).prefix(2))/\(oid)"
    }

    /// A symlink in the store to a file outside: before, a root mount with allow_other served
    /// it (`/etc/shadow`) to any user, through the kernel's passthrough too.
    @Test(arguments: ["object", "folder", "store"]) func aSymlinkInTheLFSStoreIsNeverFollowed(_ where: String) throws {
        let dir = TempDir("lfs-symlink")
        let secret = Data("root:$6$secret-hash:19000:0:99999:7:::\n".utf8)
        let outside = dir.sub("outside")
        try FileManager.default.createDirectory(atPath: outside + "/aa/bb", withIntermediateDirectories: true)
        try createFile(outside + "/secret", secret)
        let repo = dir.sub("repo.git")
        let oid = try Self.lfsRepo(repo, content: secret)
        let object = Self.objectPath(repo, oid)
        switch `where` {
        case "object": try FileManager.default.createSymbolicLink(atPath: object, withDestinationPath: outside + "/secret")
        case "folder":
            let folder = (object as NSString).deletingLastPathComponent
            try FileManager.default.removeItem(atPath: folder)
            try FileManager.default.createDirectory(atPath: outside + "/folder", withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: folder, withDestinationPath: outside + "/folder")
            try FileManager.default.createSymbolicLink(atPath: outside + "/folder/\(oid)", withDestinationPath: outside + "/secret")
        default:
            try FileManager.default.removeItem(atPath: repo + "/lfs/objects")
            try FileManager.default.createDirectory(atPath: outside + "/store", withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: repo + "/lfs/objects", withDestinationPath: outside + "/store")
            let folder = outside + "/store/\(oid.prefix(2))/\(oid.dropFirst(2).prefix(2))"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try createFile(folder + "/" + oid, secret)
        }
        try run(["chmod", "a+rx", dir.path])
        let mount = try Mount(repo, in: dir, arguments: ["-o", "allow_other", "--commit-delay", "600"])
        defer { mount.unmount() }
        let (_, message) = try runFailing(["cat", mount.path("secret.bin")])
        #expect(message.contains("Input/output error"), "\(message)")
        let user = try SecurityTests.plainUser()
        let (_, asUser) = try runFailing(["runuser", "-u", user, "--", "cat", mount.path("secret.bin")])
        #expect(!asUser.contains("secret-hash"))
        #expect(contents(mount.path("plain.txt")) == "plain\n")
        // Storing an object goes nowhere outside either: the commit fails instead.
        let before = try run(["find", outside, "-type", "f"])
        try sh("head -c 2000 /dev/urandom > new.bin", in: mount.point)
        if `where` == "store" {
            let (_, sync) = try runFailing(["sync", mount.path("new.bin")])
            #expect(sync.contains("error"), "\(sync)")
        }
        #expect(try run(["find", outside, "-type", "f"]) == before, "nothing was written outside the repository")
    }

    /// A FIFO in the store: before, the daemon's open blocked, and after 16 readers every
    /// request of the mount hung.
    @Test func aFIFOInTheLFSStoreFailsWithoutBlocking() throws {
        let dir = TempDir("lfs-fifo")
        let repo = dir.sub("repo.git")
        let oid = try Self.lfsRepo(repo, content: Data("content\n".utf8))
        try run(["mkfifo", Self.objectPath(repo, oid)])
        let mount = try Mount(repo, in: dir)
        defer { mount.unmount() }
        let readers = try (0..<20).map { _ in
            let reader = Process()
            reader.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
            reader.arguments = ["10", "cat", mount.path("secret.bin")]
            reader.standardOutput = FileHandle.nullDevice
            reader.standardError = FileHandle.nullDevice
            try reader.run()
            return reader
        }
        // A reader stuck in the kernel on a blocked daemon ignores `timeout`: past the
        // deadline the daemon is killed, which ends them, and the test fails.
        if !eventually(within: 20, { readers.allSatisfy { !$0.isRunning } }) {
            Issue.record("readers of a FIFO in the store still wait after 20 s: the daemon blocked in open")
            kill(try #require(mount.daemon), SIGKILL)
        }
        readers.forEach { $0.waitUntilExit() }
        // cat's own failure (1), not timeout's (124): no open blocked.
        #expect(readers.map(\.terminationStatus) == Array(repeating: 1, count: 20))
        let (_, message) = try runFailing(["cat", mount.path("secret.bin")])
        #expect(message.contains("Input/output error"), "\(message)")
        #expect(contents(mount.path("plain.txt")) == "plain\n")
    }

    /// A pointer claiming 2^63 - 1 bytes: before, `stat` trapped on overflow, and one pushed
    /// commit took down every syncing mount.
    @Test func anAbsurdPointerSizeDoesNotKillTheDaemon() throws {
        let dir = TempDir("lfs-size")
        let repo = dir.sub("repo.git")
        _ = try Self.lfsRepo(repo, content: Data("x\n".utf8), claimedSize: "9223372036854775807")
        let mount = try Mount(repo, in: dir)
        defer { mount.unmount() }
        _ = try? run(["ls", "-l", mount.point])
        _ = try? run(["stat", mount.path("secret.bin")])
        _ = try? run(["cat", mount.path("secret.bin")])
        #expect(isRunning(try #require(mount.daemon)))
        #expect(contents(mount.path("plain.txt")) == "plain\n")
    }
}
