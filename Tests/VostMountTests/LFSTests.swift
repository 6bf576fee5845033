import Foundation
import Testing
@testable import SnapshotFS
import TestSupport

/// Git LFS through the mount: a repository made by `git lfs`, cloned bare with its objects,
/// reads as the files' content.
@Suite struct LFSTests {
    /// A work tree with `*.bin` tracked by LFS, two commits of `data/big.bin` (3 MB, then
    /// 5 MB of random bytes) and a plain `notes.txt`, cloned bare with every LFS object.
    static func makeRepo(_ dir: TempDir) throws -> (repo: String, work: String) {
        let work = dir.sub("work")
        try run(["git", "init", "-q", "-b", "main", work], env: gitEnv)
        try run(["git", "lfs", "install", "--local"], cwd: work, env: gitEnv)
        try run(["git", "lfs", "track", "*.bin"], cwd: work, env: gitEnv)
        try run(["sh", "-c", "mkdir data && head -c 3000000 /dev/urandom > data/big.bin && echo plain > notes.txt"], cwd: work)
        try run(["git", "add", "."], cwd: work, env: gitEnv)
        try run(["git", "commit", "-q", "-m", "one"], cwd: work, env: gitEnv)
        try run(["sh", "-c", "head -c 5000000 /dev/urandom > data/big.bin"], cwd: work)
        try run(["git", "commit", "-q", "-am", "two"], cwd: work, env: gitEnv)
        let repo = dir.sub("repo.git")
        try run(["git", "clone", "-q", "--bare", work, repo], env: gitEnv)
        try run(["git", "lfs", "fetch", "--all"], cwd: repo, env: gitEnv)
        return (repo, work)
    }

    /// `makeRepo`'s repository mounted with `arguments` in a new temp folder (`name`): `body`
    /// runs while it is mounted, and it is unmounted however `body` ends.
    static func withMountedRepo(_ name: String, arguments: [String] = [],
                                _ body: (_ mount: Mount, _ repo: String, _ work: String) throws -> Void) throws {
        let dir = TempDir(name)
        let (repo, work) = try makeRepo(dir)
        let mount = try Mount(repo, in: dir, arguments: arguments)
        defer { mount.unmount() }
        try body(mount, repo, work)
    }

    /// The content git-lfs gives for `path` at `revision` of the work tree.
    static func lfsContent(_ work: String, _ revision: String, _ path: String) throws -> Data {
        try runData(["sh", "-c", "git show '\(revision):\(path)' | git lfs smudge"], cwd: work, env: gitEnv)
    }

    @Test func lfsFilesReadAsTheirContentInTheBranchAndInHistory() throws {
        try Self.withMountedRepo("lfs-read") { mount, repo, work in
            let tip = try Self.lfsContent(work, "HEAD", "data/big.bin")
            let old = try Self.lfsContent(work, "HEAD~1", "data/big.bin")
            #expect(tip.count == 5_000_000 && old.count == 3_000_000)
            #expect(FileManager.default.contents(atPath: mount.path("data/big.bin")) == tip)
            #expect(FileManager.default.contents(atPath: mount.path("@~1/data/big.bin")) == old)
            #expect(try run(["stat", "-c", "%s", mount.path("data/big.bin"), mount.path("@~1/data/big.bin")]) == "5000000\n3000000\n")
            #expect(contents(mount.path("notes.txt")) == "plain\n")
            // Random offsets, as a program seeking through a file reads them.
            for offset in [0, 4095, 1_234_567, 4_999_000] {
                let piece = try runData(["dd", "if=\(mount.path("data/big.bin"))", "bs=1", "skip=\(offset)", "count=1000", "status=none"])
                #expect(piece == tip.subdata(in: offset..<min(tip.count, offset + 1000)), "at \(offset)")
            }
            // The per-file view shows both versions' content too (in either order: the two
            // commits may share a second, and then sort by hash).
            let versions = try run(["ls", mount.path("@/versions/data/big.bin")]).split(separator: "\n")
            #expect(Set(versions.map { FileManager.default.contents(atPath: mount.path("@/versions/data/big.bin/\($0)")) }) == [old, tip])
        }
    }

    /// A pointer whose object is not in the local store has the object's size, and reading
    /// it fails with EIO (and a log line naming the object), never the pointer's text.
    @Test func aMissingObjectIsAnIOErrorNotThePointer() throws {
        let dir = TempDir("lfs-missing")
        let (repo, work) = try Self.makeRepo(dir)
        let oid = try run(["sh", "-c", "git show HEAD~1:data/big.bin | sed -n 's/^oid sha256://p'"], cwd: work)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        try FileManager.default.removeItem(atPath: "\(repo)/lfs/objects/\(oid.prefix(2))/\(oid.dropFirst(2).prefix(2))/\(oid)")
        let log = dir.sub("daemon.log")
        let mount = try Mount(repo, in: dir, arguments: ["--log", log])
        defer { mount.unmount() }
        #expect(try run(["stat", "-c", "%s", mount.path("@~1/data/big.bin")]) == "3000000\n")
        let (status, message) = try runFailing(["cat", mount.path("@~1/data/big.bin")])
        #expect(status != 0 && message.contains("Input/output error"), "\(message)")
        #expect(eventually(within: 5) { (contents(log) ?? "").contains(oid) })
        // The tip's object is there.
        #expect(FileManager.default.contents(atPath: mount.path("data/big.bin")) == (try Self.lfsContent(work, "HEAD", "data/big.bin")))
    }

    /// A bare clone made without `git lfs fetch` has no LFS store at all: its pointers still
    /// read as missing objects (EIO), not as their text, since `.gitattributes` says LFS.
    @Test func aCloneWithoutLFSObjectsDoesNotShowPointersAsFiles() throws {
        let dir = TempDir("lfs-none")
        let (_, work) = try Self.makeRepo(dir)
        let bare = dir.sub("bare.git")
        try run(["git", "clone", "-q", "--bare", work, bare], env: gitEnv)
        #expect(!FileManager.default.fileExists(atPath: "\(bare)/lfs"))
        let mount = try Mount(bare, in: dir)
        defer { mount.unmount() }
        #expect(try run(["stat", "-c", "%s", mount.path("data/big.bin")]) == "5000000\n")
        let (status, message) = try runFailing(["cat", mount.path("data/big.bin")])
        #expect(status != 0 && message.contains("Input/output error"), "\(message)")
        #expect(contents(mount.path("notes.txt")) == "plain\n")
    }

    /// A mount of a repository with no LFS at all, and then another writer's push brings a
    /// `.gitattributes` naming LFS, in a subdirectory, with a pointer and no object: the
    /// pointer reads as a missing object (its size, EIO), never as its text.
    @Test func attributesThatArriveLaterCount() throws {
        let dir = TempDir("lfs-later")
        let repo = dir.sub("repo.git")
        try Cluster.makeServer(repo, seed: ["README": "hello\n"], scratch: dir.sub("seed"))
        let mount = try Mount(repo, in: dir)
        defer { mount.unmount() }
        #expect(contents(mount.path("README")) == "hello\n")
        let work = try Self.pushPointerWithoutObject(to: repo, in: dir)
        #expect(try run(["git", "show", "HEAD:data/late.bin"], cwd: work, env: gitEnv).hasPrefix("version https://git-lfs"))
        #expect(!FileManager.default.fileExists(atPath: "\(repo)/lfs"), "the push sent no LFS object")
        #expect(eventually(within: 10) { FileManager.default.fileExists(atPath: mount.path("data/late.bin")) })
        #expect(try run(["stat", "-c", "%s", mount.path("data/late.bin")]) == "200000\n")
        let (status, message) = try runFailing(["cat", mount.path("data/late.bin")])
        #expect(status != 0 && message.contains("Input/output error"), "\(message)")
    }

    /// A `.gitattributes` whose object cannot be read (a damaged store here; a partial clone
    /// offline alike) cannot tell whether LFS is used: its folder's pointer still reads as a
    /// missing object (its size, EIO), never as its own text posing as the file.
    @Test func anUnreadableGitattributesDoesNotLetAPointerPoseAsContent() throws {
        let dir = TempDir("lfs-unreadable-attributes")
        let repo = dir.sub("repo.git")
        try Cluster.makeServer(repo, seed: ["README": "hello\n"], scratch: dir.sub("seed"))
        try Self.pushPointerWithoutObject(to: repo, in: dir)
        let attributes = try run(["git", "--git-dir=\(repo)", "rev-parse", "main:data/.gitattributes"]).trimmingCharacters(in: .whitespacesAndNewlines)
        try FileManager.default.removeItem(atPath: "\(repo)/objects/\(attributes.prefix(2))/\(attributes.dropFirst(2))")
        let mount = try Mount(repo, in: dir, arguments: ["--read-only"])
        defer { mount.unmount() }
        #expect(try run(["stat", "-c", "%s", mount.path("data/late.bin")]) == "200000\n")
        let (status, message) = try runFailing(["cat", mount.path("data/late.bin")])
        #expect(status != 0 && message.contains("Input/output error"), "\(message)")
        #expect(contents(mount.path("README")) == "hello\n")
    }

    /// Commits `data/.gitattributes` naming LFS and `data/late.bin` (200,000 random bytes) as
    /// its pointer in a clone of `repo`, and pushes them without the object (`--no-verify`:
    /// git lfs's pre-push hook does not run); returns the clone.
    @discardableResult
    static func pushPointerWithoutObject(to repo: String, in dir: TempDir) throws -> String {
        let work = dir.sub("work")
        try run(["git", "clone", "-q", repo, work], env: gitEnv)
        try run(["sh", "-c", "mkdir data && printf '*.bin filter=lfs diff=lfs merge=lfs -text\\n' > data/.gitattributes"
                 + " && head -c 200000 /dev/urandom > data/late.bin"], cwd: work)
        try run(["git", "-c", "filter.lfs.clean=git-lfs clean -- %f", "-c", "filter.lfs.required=true", "add", "."], cwd: work, env: gitEnv)
        try run(["git", "commit", "-q", "-m", "late"], cwd: work, env: gitEnv)
        try run(["git", "push", "-q", "--no-verify", "origin", "main"], cwd: work, env: gitEnv)
        return work
    }

    /// `--no-lfs` shows what the commits hold: the pointers.
    @Test func noLFSShowsThePointers() throws {
        try Self.withMountedRepo("lfs-off", arguments: ["--no-lfs"]) { mount, repo, work in
            let pointer = try run(["git", "show", "HEAD:data/big.bin"], cwd: work)
            #expect(contents(mount.path("data/big.bin")) == pointer)
            #expect(contents(mount.path("data/big.bin"))?.hasPrefix("version https://git-lfs.github.com/spec/v1\n") == true)
        }
    }

    // MARK: Writing

    static func sha256(_ path: String) throws -> String {
        String(try run(["sha256sum", path]).prefix(64))
    }

    static func isPointer(_ repo: String, _ path: String) throws -> Bool {
        try run(["git", "--git-dir=\(repo)", "cat-file", "-p", "main:\(path)"]).hasPrefix("version https://git-lfs.github.com/spec/v1\n")
    }

    /// New files whose path has `filter=lfs` (by the `.gitattributes` of the batch itself, at
    /// the root and in a subdirectory, a deeper file and a later line overriding) are
    /// committed as pointers, with their objects in the store; the rest stay plain blobs.
    /// git decides the same (`git check-attr`), a clone gets the same bytes through
    /// `git lfs pull`, `git lfs fsck` and `git fsck --strict` are clean, and vost reads the
    /// pointers as the blobs they are.
    @Test func filesThatGitattributesSendsToLFSAreCommittedAsPointers() throws {
        let dir = TempDir("lfs-write")
        let repo = dir.sub("repo.git")
        let mount = try Mount(repo, in: dir, arguments: ["--create"])
        defer { mount.unmount() }
        let files = ["a.bin": 2_000_000, "small.bin": 100, "notes.txt": 50, "sub/x.dat": 3000, "sub/plain.bin": 1_500_000,
                     "x.dat": 3000, "docs/deep/er/log.txt": 2000, "docs/log.txt": 2000]
        try run(["sh", "-c", """
            cd '\(mount.point)' && mkdir -p sub docs/deep/er &&
            printf '*.bin filter=lfs diff=lfs merge=lfs -text\\ndocs/**/log.txt filter=lfs\\n' > .gitattributes &&
            printf '*.dat filter=lfs\\nplain.bin -filter\\n' > sub/.gitattributes
            """])
        for (path, size) in files {
            try run(["sh", "-c", "head -c \(size) /dev/urandom > '\(mount.path(path))'"])
        }
        try run(["sync", mount.path("")])
        // `docs/**/log.txt` takes docs/log.txt too: `/**/` is zero or more directories.
        let lfsPaths: Set = ["a.bin", "small.bin", "sub/x.dat", "docs/deep/er/log.txt", "docs/log.txt"]
        for path in files.keys {
            #expect(try Self.isPointer(repo, path) == lfsPaths.contains(path), "\(path)")
        }
        // The mount reads content, before and after a remount.
        let sums = try Dictionary(uniqueKeysWithValues: files.keys.map { ($0, try Self.sha256(mount.path($0))) })
        mount.unmount()
        let again = try Mount(repo, in: dir, name: "again")
        defer { again.unmount() }
        for path in files.keys { #expect(try Self.sha256(again.path(path)) == sums[path], "\(path)") }

        // git agrees on which paths are LFS, and a clone gets the same bytes.
        let clone = dir.sub("clone")
        try run(["git", "clone", "-q", repo, clone], env: gitEnv)
        try run(["git", "lfs", "install", "--local"], cwd: clone, env: gitEnv)
        try run(["git", "lfs", "pull"], cwd: clone, env: gitEnv)
        for path in files.keys {
            let filter = try run(["git", "check-attr", "filter", "--", path], cwd: clone)
            #expect(filter.hasSuffix(": filter: lfs\n") == lfsPaths.contains(path), "\(filter)")
            #expect(try Self.sha256("\(clone)/\(path)") == sums[path], "\(path)")
        }
        #expect(try run(["git", "lfs", "fsck"], cwd: repo, env: gitEnv).contains("Git LFS fsck OK"))
        try expectFsckClean(repo)
        let python = try vostPython()
        let read = try run([python, "-c", """
            import sys, vost
            fs = vost.GitStore.open(sys.argv[1], create=False).branches["main"]
            print(fs.read("a.bin")[:42].decode())
            """, repo])
        #expect(read == "version https://git-lfs.github.com/spec/v1\n")
    }

    /// `--lfs-threshold` sends large files to LFS without any pattern.
    @Test func theThresholdSendsLargeFilesToLFS() throws {
        let dir = TempDir("lfs-threshold")
        let repo = dir.sub("repo.git")
        let mount = try Mount(repo, in: dir, arguments: ["--create", "--lfs-threshold", "1M"])
        defer { mount.unmount() }
        try run(["sh", "-c", "head -c 2000000 /dev/urandom > '\(mount.path("big.iso"))' && echo hi > '\(mount.path("small.txt"))' && sync '\(mount.point)'"])
        #expect(try Self.isPointer(repo, "big.iso"))
        #expect(try !Self.isPointer(repo, "small.txt"))
        #expect(try run(["stat", "-c", "%s", mount.path("big.iso")]) == "2000000\n")
        try FileManager.default.createDirectory(atPath: dir.sub("x"), withIntermediateDirectories: true)
        let (status, message) = try runFailing([try vostmountBinary(), "--lfs-threshold", "lots", repo, dir.sub("x")])
        #expect(status != 0 && message.contains("--lfs-threshold lots: not a size"), "\(message)")
    }

    /// Changing an LFS file through the mount starts from its content and commits a pointer
    /// to the new content.
    @Test func appendingToAnLFSFileKeepsItInLFS() throws {
        try Self.withMountedRepo("lfs-append") { mount, repo, work in
            try run(["sh", "-c", "printf more >> '\(mount.path("data/big.bin"))' && sync '\(mount.path("data/big.bin"))'"])
            #expect(try Self.isPointer(repo, "data/big.bin"))
            var expected = try Self.lfsContent(work, "HEAD", "data/big.bin")
            expected.append(contentsOf: Array("more".utf8))
            #expect(FileManager.default.contents(atPath: mount.path("data/big.bin")) == expected)
            #expect(try run(["git", "--git-dir=\(repo)", "cat-file", "-p", "main:data/big.bin"]).hasSuffix("size 5000004\n"))
        }
    }

    /// With `--remote`, the objects a commit needs reach the remote before the branch does.
    @Test func lfsObjectsArePushedBeforeTheBranch() throws {
        let dir = TempDir("lfs-remote")
        let server = dir.sub("server.git")
        try run(["git", "init", "-q", "--bare", "-b", "main", server], env: gitEnv)
        let repo = dir.sub("repo.git")
        try run(["git", "clone", "-q", "--bare", server, repo], env: gitEnv)
        let mount = try Mount(repo, in: dir, arguments: ["--create", "--remote", "origin", "--fetch-interval", "1"])
        defer { mount.unmount() }
        try run(["sh", "-c", "cd '\(mount.point)' && printf '*.bin filter=lfs\\n' > .gitattributes && head -c 1500000 /dev/urandom > a.bin && sync ."])
        let local = try run(["git", "--git-dir=\(repo)", "rev-parse", "main"])
        #expect(eventually(within: 30) { (try? run(["git", "--git-dir=\(server)", "rev-parse", "main"])) == local })
        let clone = dir.sub("clone")
        try run(["git", "clone", "-q", server, clone], env: gitEnv)
        try run(["git", "lfs", "install", "--local"], cwd: clone, env: gitEnv)
        try run(["git", "lfs", "pull"], cwd: clone, env: gitEnv)
        #expect(try Self.sha256("\(clone)/a.bin") == Self.sha256(mount.path("a.bin")))
    }
}
