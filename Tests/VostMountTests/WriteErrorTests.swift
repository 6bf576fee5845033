import Foundation
import Testing
@testable import SnapshotFS
import TestSupport

/// Operations a Git tree cannot hold, or that touch history, fail with the errno a Linux
/// user expects and change nothing.
@Suite(.serialized) struct WriteErrorTests {
    /// Runs a Python snippet that performs one call and prints the errno name (or "ok").
    func errno(_ call: String, _ mount: Mount) throws -> String {
        try python("""
            import ctypes, errno, os, sys
            os.chdir(sys.argv[1])
            libc = ctypes.CDLL(None, use_errno=True)
            def renameat2(a, b, flags):
                if libc.renameat2(-100, a.encode(), -100, b.encode(), flags) != 0:
                    e = ctypes.get_errno(); raise OSError(e, os.strerror(e))
            try:
                \(call)
                print('ok')
            except OSError as e:
                print(errno.errorcode[e.errno])
            """, [mount.point]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func everyRefusalHasItsErrnoAndChangesNothing() throws {
        let dir = TempDir("errors")
        let (repo, _, _) = try makeHistoryRepo(dir)
        let mount = try Mount(repo, in: dir, arguments: ["--commit-delay", "600"])
        defer { mount.unmount() }
        try sh("mkdir -p full/inner empty && echo a > full/a && echo b > b.txt", in: mount.point)
        let listing = try run(["ls", "-aR", mount.point])

        #expect(try errno("os.link('b.txt', 'hard')", mount) == "EPERM")
        #expect(try errno("os.mkfifo('fifo')", mount) == "EPERM")
        #expect(try errno("os.mknod('dev', 0o600 | 0o020000, os.makedev(1, 3))", mount) == "EPERM")
        #expect(try errno("os.mkdir('.git')", mount) == "EPERM")
        #expect(try errno("open('full/.GIT', 'w')", mount) == "EPERM")
        #expect(try errno("os.rename('b.txt', 'full/.git')", mount) == "EPERM")
        #expect(try errno("open('@new', 'w')", mount) == "EINVAL")
        #expect(try errno("os.mkdir('@dir')", mount) == "EINVAL")
        #expect(try errno("os.rename('b.txt', '@b')", mount) == "EINVAL")
        #expect(try errno("os.chown('b.txt', 4321, -1)", mount) == "EPERM")
        #expect(try errno("os.rmdir('full')", mount) == "ENOTEMPTY")
        #expect(try errno("os.rename('empty', 'full')", mount) == "ENOTEMPTY")
        #expect(try errno("os.rename('b.txt', 'full')", mount) == "EISDIR")
        #expect(try errno("os.rename('empty', 'b.txt')", mount) == "ENOTDIR")
        #expect(try errno("os.rename('full', 'full/inner/x')", mount) == "EINVAL")
        #expect(try errno("os.unlink('full')", mount) == "EISDIR")
        #expect(try errno("os.rmdir('b.txt')", mount) == "ENOTDIR")
        #expect(try errno("os.open('b.txt', os.O_CREAT | os.O_EXCL | os.O_WRONLY)", mount) == "EEXIST")
        #expect(try errno("renameat2('b.txt', 'full/a', 1)", mount) == "EEXIST")  // RENAME_NOREPLACE
        // History: read-only inside, a different device for a rename across.
        #expect(try errno("open('@~1/README.md', 'a')", mount) == "EROFS")
        #expect(try errno("open('@v1/new', 'w')", mount) == "EROFS")
        #expect(try errno("os.mkdir('@~1/d')", mount) == "EROFS")
        #expect(try errno("os.unlink('@~1/README.md')", mount) == "EROFS")
        #expect(try errno("os.rmdir('@~1')", mount) == "EROFS")
        #expect(try errno("os.chmod('@~1/README.md', 0o755)", mount) == "EROFS")
        #expect(try errno("os.rename('b.txt', '@~1/b.txt')", mount) == "EXDEV")
        #expect(try errno("os.rename('@~1/README.md', 'README2')", mount) == "EXDEV")
        #expect(try errno("os.truncate('@~1/README.md', 0)", mount) == "EROFS")
        #expect(try errno("os.mkdir('@/log/x')", mount) == "EROFS")
        #expect(try errno("os.setxattr('b.txt', 'user.vost.message', b'x')", mount) == "ENOTSUP")
        #expect(try errno("os.setxattr('.', 'user.other', b'x')", mount) == "ENOTSUP")
        #expect(try run(["ls", "-aR", mount.point]) == listing, "nothing changed")

        // What is allowed: RENAME_EXCHANGE swaps, chmod keeps only the executable bit.
        #expect(try errno("renameat2('b.txt', 'full/a', 2)", mount) == "ok")
        #expect(contents(mount.path("b.txt")) == "a\n")
        #expect(contents(mount.path("full/a")) == "b\n")
        #expect(try errno("renameat2('empty', 'full', 2)", mount) == "ok")
        #expect(FileManager.default.fileExists(atPath: mount.path("empty/inner")))
        try run(["chmod", "700", mount.path("b.txt")])
        #expect(try run(["stat", "-c", "%a", mount.path("b.txt")]) == "755\n")
        try run(["chmod", "600", mount.path("b.txt")])
        #expect(try run(["stat", "-c", "%a", mount.path("b.txt")]) == "644\n")
        #expect(try errno("os.chown('b.txt', os.getuid(), os.getgid())", mount) == "ok")
        // A directory renamed over an empty one replaces it; fdatasync commits like fsync.
        try sh("mkdir -p moving/inside target-empty && echo m > moving/inside/m", in: mount.point)
        #expect(try errno("os.rename('moving', 'target-empty')", mount) == "ok")
        #expect(contents(mount.path("target-empty/inside/m")) == "m\n")
        let before = try tipHash(mount.repo)
        #expect(try errno("fd = os.open('target-empty/inside/m', os.O_RDONLY); os.fdatasync(fd)", mount) == "ok")
        #expect(try tipHash(mount.repo) != before)
        #expect(try git(mount.repo, "show", "main:target-empty/inside/m") == "m\n")
        // statfs answers for the repository's filesystem.
        #expect(try run(["stat", "-f", "-c", "%l", mount.point]) == "255\n")
    }

    /// `statfs` says 255: a longer name is refused wherever it could come in, so the branch
    /// never holds a name a clone cannot check out.
    @Test func namesLongerThan255BytesAreENAMETOOLONG() throws {
        let dir = TempDir("errors")
        let (repo, _, _) = try makeHistoryRepo(dir)
        let mount = try Mount(repo, in: dir, arguments: ["--commit-delay", "600"])
        defer { mount.unmount() }
        let long = String(repeating: "x", count: 256)
        let most = String(repeating: "y", count: 255)
        #expect(try errno("open('\(most)', 'w')", mount) == "ok")
        #expect(try errno("os.mkdir('d\(most.dropFirst())')", mount) == "ok")
        #expect(try errno("open('\(long)', 'w')", mount) == "ENAMETOOLONG")
        #expect(try errno("os.mkdir('\(long)')", mount) == "ENAMETOOLONG")
        #expect(try errno("os.symlink('README.md', '\(long)')", mount) == "ENAMETOOLONG")
        #expect(try errno("os.mkfifo('\(long)')", mount) == "ENAMETOOLONG")
        #expect(try errno("os.mknod('\(long)', 0o644 | 0o100000)", mount) == "ENAMETOOLONG")
        #expect(try errno("os.rename('README.md', '\(long)')", mount) == "ENAMETOOLONG")
        #expect(try errno("os.stat('\(long)')", mount) == "ENAMETOOLONG")
        #expect(try errno("os.stat('@~1/\(long)')", mount) == "ENAMETOOLONG")
        try sh("sync .", in: mount.point)
        // What was allowed is committed, and a clone checks it out.
        try run(["git", "clone", "-q", repo, dir.sub("clone")], env: gitEnv)
        #expect(FileManager.default.fileExists(atPath: dir.sub("clone/\(most)")))
    }

    /// An object that cannot be stored fails the commit (and its `fsync`): the branch never
    /// names an object that is not there. The fan-out directory is made a file, which even
    /// root cannot rename into.
    @Test func anObjectThatCannotBeStoredCommitsNothing() throws {
        let dir = TempDir("errors")
        let (repo, _, _) = try makeHistoryRepo(dir)
        // A content whose fan-out directory does not exist yet.
        var content = ""
        var fanOut = ""
        for n in 0..<1000 {
            content = "blocked \(n)\n"
            let id = try run(["git", "hash-object", "--stdin"], stdin: Data(content.utf8))
            fanOut = "\(repo)/objects/\(id.prefix(2))"
            if !FileManager.default.fileExists(atPath: fanOut) { break }
        }
        try createFile(fanOut, Data())
        let mount = try Mount(repo, in: dir, arguments: ["--commit-delay", "600"])
        defer { mount.unmount() }
        let before = try tipHash(repo)
        // (Not FileManager: its atomic write fsyncs, which is the commit this test fails.)
        #expect(try errno("open('blocked.txt', 'w').write(\(String(reflecting: content)))", mount) == "ok")
        #expect(try errno("fd = os.open('blocked.txt', os.O_RDONLY); os.fsync(fd)", mount) == "ENOTDIR")
        #expect(try tipHash(repo) == before, "nothing committed")
        // Once the object can be stored, the same batch commits.
        try FileManager.default.removeItem(atPath: fanOut)
        #expect(try errno("fd = os.open('blocked.txt', os.O_RDONLY); os.fsync(fd)", mount) == "ok")
        #expect(try git(repo, "show", "main:blocked.txt") == content)
        try expectFsckClean(repo)
    }

    @Test func readOnlyMountRefusesWithEROFS() throws {
        let dir = TempDir("errors")
        let (repo, _, _) = try makeHistoryRepo(dir)
        let mount = try Mount(repo, in: dir, arguments: ["--read-only"])
        defer { mount.unmount() }
        #expect(try errno("open('x', 'w')", mount) == "EROFS")
        #expect(try errno("open('README.md', 'a')", mount) == "EROFS")
        #expect(try errno("os.unlink('README.md')", mount) == "EROFS")
        #expect(!FileManager.default.fileExists(atPath: repo + "/vostmount-staging"), "a read-only mount writes nothing")
    }
}
