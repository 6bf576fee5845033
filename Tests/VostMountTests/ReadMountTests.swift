import Foundation
import Testing
@testable import SnapshotFS
import TestSupport

/// The read side of a mount, driven by ordinary programs.
@Suite(.serialized) struct ReadMountTests {
    @Test func treeMatchesGitArchiveByteForByte() throws {
        let dir = TempDir("mount")
        let (repo, _, _) = try makeHistoryRepo(dir)
        let mount = try Mount(repo, in: dir)
        defer { mount.unmount() }
        let expected = dir.sub("expected")
        try FileManager.default.createDirectory(atPath: expected, withIntermediateDirectories: true)
        try run(["sh", "-c", "git --git-dir='\(repo)' archive main | tar -x -C '\(expected)'"])
        try run(["diff", "-r", "--no-dereference", expected, mount.point])
        let copy = dir.sub("copy")
        try run(["cp", "-a", mount.point, copy])
        try run(["diff", "-r", "--no-dereference", expected, copy])
        #expect(!FileManager.default.fileExists(atPath: copy + "/@"))
        // tar of the mount lists what git archive lists.
        let ours = try run(["sh", "-c", "cd '\(mount.point)' && tar -cf - . | tar -tf - | sed 's|^\\./||' | grep -v '^$' | sort"])
        let theirs = try run(["sh", "-c", "git --git-dir='\(repo)' archive main | tar -tf - | sed 's|/$||' | sort"])
        #expect(ours.split(separator: "\n").map { $0.hasSuffix("/") ? String($0.dropLast()) : String($0) } ==
                theirs.split(separator: "\n").map(String.init))
    }

    @Test func attributesAreWhatTheDesignSays() throws {
        let dir = TempDir("mount")
        let (repo, _, snaps) = try makeHistoryRepo(dir)
        let mount = try Mount(repo, in: dir)
        defer { mount.unmount() }
        func stat(_ format: String, _ path: String) throws -> String {
            try run(["stat", "-c", format, mount.path(path)]).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        #expect(try stat("%a %F %s %h", "README.md") == "644 regular file 6 1")
        #expect(try stat("%a %F", "run.sh") == "755 regular file")
        #expect(try stat("%a %F %s", "latest") == "777 symbolic link 10")
        #expect(try stat("%F %h", "src") == "directory 2")
        #expect(try stat("%h", "") == "4")  // 2 + src + "with space"
        #expect(try stat("%u %g", "README.md") == "\(getuid()) \(getgid())")
        #expect(try stat("%Y", "README.md") == "\(Int(snaps[4].time.timeIntervalSince1970))")
        #expect(try stat("%a", "@~1/src") == "555")
        #expect(try stat("%Y", "@~3/README.md") == "\(Int(snaps[1].time.timeIntervalSince1970))")
        // The same file keeps its inode number between stats.
        #expect(try stat("%i", "README.md") == stat("%i", "README.md"))
        #expect(try run(["readlink", mount.path("latest")]) == "src/app.py\n")
        #expect(contents(mount.path("latest")) == "print('v2')\n")
        #expect(try run(["sh", "-c", "'\(mount.path("run.sh"))'"]) == "hi\n")
    }

    /// A listing's `d_ino` is the number `stat` gives, for every name of the branch, a
    /// renamed file keeps its number, and distinct names have distinct numbers.
    @Test func inodeNumbersAgreeBetweenListingAndStat() throws {
        let dir = TempDir("mount")
        let (repo, _, _) = try makeHistoryRepo(dir)
        let mount = try Mount(repo, in: dir)
        defer { mount.unmount() }
        let check = try python("""
            import os, sys
            seen, bad = {}, []
            for top, dirs, files in os.walk(sys.argv[1]):
                with os.scandir(top) as it:
                    for e in it:
                        if e.inode() != os.lstat(e.path).st_ino: bad.append(e.path)
                        seen.setdefault(e.inode(), set()).add(e.path)
            print(len(seen), sum(len(p) for p in seen.values()), bad)
            """, [mount.point]).split(separator: " ", maxSplits: 2)
        #expect(check.count == 3 && check[0] == check[1], "one number per name: \(check)")
        #expect(check.last == "[]\n", "d_ino == st_ino everywhere")
        func inode(_ path: String) throws -> String { try run(["stat", "-c", "%i", mount.path(path)]) }
        let before = try inode("README.md")
        try run(["mv", mount.path("README.md"), mount.path("src/moved.md")])
        #expect(try inode("src/moved.md") == before)
    }

    @Test func namesAreBytes() throws {
        let dir = TempDir("mount")
        let (repo, _, _) = try makeHistoryRepo(dir)
        let mount = try Mount(repo, in: dir)
        defer { mount.unmount() }
        #expect(contents(mount.path("with space/a file.txt")) == "spaces\n")
        #expect(contents(mount.path("line\nbreak")) == "newline\n")
        // A Latin-1 name: list it as bytes with find -print0, read it through the shell.
        let listing = try runData(["find", mount.point, "-maxdepth", "1", "-print0"])
        let names = listing.split(separator: 0).map { Array($0) }
        #expect(names.contains(Array((mount.point + "/caf").utf8) + [0xE9]))
        #expect(try run(["sh", "-c", "cat \"\(mount.point)\"/caf$(printf '\\351')"]) == "latin1\n")
    }

    @Test func everyHistoryFormResolves() throws {
        let dir = TempDir("mount")
        let (repo, _, snaps) = try makeHistoryRepo(dir)
        let mount = try Mount(repo, in: dir)
        defer { mount.unmount() }
        let app = "src/app.py"
        #expect(contents(mount.path("@~0/\(app)")) == "print('v2')\n")
        #expect(contents(mount.path("@~2/\(app)")) == "print('v1')\n")
        #expect(contents(mount.path("@^/\(app)")) == "print('v2')\n")
        #expect(contents(mount.path("@~1^/\(app)")) == "print('v1')\n")
        #expect(!FileManager.default.fileExists(atPath: mount.path("@~1/run.sh")))
        #expect(contents(mount.path("@v1/\(app)")) == "print('v1')\n")
        #expect(contents(mount.path("@v1~1/README.md")) == "hello\n")
        #expect(!FileManager.default.fileExists(atPath: mount.path("@v1~1/src")))
        #expect(contents(mount.path("@dev/\(app)")) == "print('v1')\n")
        #expect(contents(mount.path("@main~1/\(app)")) == "print('v2')\n")
        #expect(contents(mount.path("@\(snaps[3].commitHash)/\(app)")) == "print('v2')\n")
        #expect(contents(mount.path("@\(snaps[2].commitHash.prefix(7))/\(app)")) == "print('v1')\n")
        #expect(contents(mount.path("@{1}/\(app)")) == "print('v2')\n")
        #expect(contents(mount.path("@{2}/\(app)")) == "print('v1')\n")
        #expect(contents(mount.path("@{3}/README.md")) == "hello\n")
        #expect(!FileManager.default.fileExists(atPath: mount.path("@{3}/src")))
        let later = snaps[4].time.addingTimeInterval(3600)
        let iso = ISO8601DateFormatter().string(from: later)
        #expect(contents(mount.path("@{\(iso)}/\(app)")) == "print('v2')\n")
        #expect(!FileManager.default.fileExists(atPath: mount.path("@{1999-01-01}")))

        #expect(try run(["ls", mount.path("@/")]) == "branches\ngmt\nlog\nstatus\ntags\nversions\n")
        #expect(try run(["ls", mount.path("@/tags")]) == "v1\n")
        #expect(try run(["ls", mount.path("@/branches")]) == "dev\nmain\n")
        // One folder per commit, named by time and short hash. (These commits share a second,
        // so `ls` order among them is by hash; see docs/namespace.md.)
        let log = try run(["ls", mount.path("@/log")]).split(separator: "\n").map(String.init)
        #expect(log.count == 5)
        let v1Name = try #require(log.first { $0.hasSuffix("-" + snaps[2].commitID.shortHex) })
        #expect(v1Name.count == "2026-11-22T01:06:17Z-".count + 7)
        #expect(contents(mount.path("@/log/\(v1Name)/\(app)")) == "print('v1')\n")
        #expect(contents(mount.path("@/tags/v1/\(app)")) == "print('v1')\n")
        #expect(contents(mount.path("@/branches/dev/\(app)")) == "print('v1')\n")
        // The same commit through two routes is two directories; both read.
        #expect(contents(mount.path("@v1/README.md")) == contents(mount.path("@/tags/v1/README.md")))
        try run(["diff", "-r", "--no-dereference", mount.path("@v1"), mount.path("@/tags/v1")])
        // git diff --no-index between history and the tip.
        let diff = try? run(["git", "diff", "--no-index", "--stat", mount.path("@~1/src"), mount.path("src")])
        #expect(diff == "")  // @~1 and the tip have the same src/
    }

    @Test func historyIsHiddenFromListings() throws {
        let dir = TempDir("mount")
        let (repo, _, _) = try makeHistoryRepo(dir)
        let mount = try Mount(repo, in: dir)
        defer { mount.unmount() }
        _ = contents(mount.path("@~1/README.md"))  // looked up once, still never listed
        let all = try run(["ls", "-a", mount.point]).split(separator: "\n")
        #expect(!all.contains { $0.hasPrefix("@") })
        let found = try runData(["find", mount.point, "-print0"]).split(separator: 0)
        #expect(!found.contains { $0.contains(UInt8(ascii: "@")) })
        #expect(found.count == 10)
        let du = try run(["du", "-a", mount.point]).split(separator: "\n")
        #expect(!du.contains { $0.contains("/@") })
    }

    @Test func historyAndReadOnlyErrors() throws {
        let dir = TempDir("mount")
        let (repo, _, _) = try makeHistoryRepo(dir)
        let mount = try Mount(repo, in: dir)
        defer { mount.unmount() }
        for command in [["touch", mount.path("@~1/new")], ["mkdir", mount.path("@~1/d")], ["rm", mount.path("@~1/README.md")],
                        ["sh", "-c", "echo x >> '\(mount.path("@v1/README.md"))'"], ["mv", mount.path("@v1/README.md"), mount.path("@v1/x")]] {
            let (status, stderr) = try runFailing(command)
            #expect(status != 0)
            #expect(stderr.contains("Read-only file system"), "\(command): \(stderr)")
        }
        for missing in ["@nope", "@~99", "@{99}", "@{}", "@/nope", "@/tags/nope", "@/log/2020-01-01T00:00:00Z-abcdef0", "@zz~1"] {
            #expect(!FileManager.default.fileExists(atPath: mount.path(missing)), "\(missing)")
            let (_, stderr) = try runFailing(["ls", mount.path(missing)])
            #expect(stderr.contains("No such file or directory"), "\(missing): \(stderr)")
        }
    }

    @Test func realEntriesNamedWithAtWin() throws {
        let dir = TempDir("mount")
        let repo = dir.sub("r.git")
        let store = try Store.open(repo)
        let snap = try store.branches["main"].apply(writes: ["@~1/file": .data(bytes("real\n")), "@notes": .data(bytes("n\n"))])
        _ = snap
        let mount = try Mount(repo, in: dir)
        defer { mount.unmount() }
        #expect(contents(mount.path("@~1/file")) == "real\n")
        #expect(contents(mount.path("@notes")) == "n\n")
        #expect(try run(["ls", mount.point]) == "@notes\n@~1\n")
    }

    @Test func anotherWriterIsSeenWithinASecondAndOpenFilesKeepTheirContent() throws {
        let dir = TempDir("mount")
        let (repo, store, _) = try makeHistoryRepo(dir)
        let mount = try Mount(repo, in: dir)
        defer { mount.unmount() }
        #expect(contents(mount.path("README.md")) == "hello\n")
        let open = try #require(FileHandle(forReadingAtPath: mount.path("README.md")))
        defer { try? open.close() }
        // vost commits from another process.
        _ = try python("""
        import sys, vost
        fs = vost.GitStore.open(sys.argv[1], create=False).branches["main"]
        fs.write("README.md", b"changed by vost\\n")
        """, [repo])
        let started = Date()
        #expect(eventually(within: 3) { contents(mount.path("README.md")) == "changed by vost\n" })
        #expect(Date().timeIntervalSince(started) < 2.0)
        #expect(String(decoding: open.readDataToEndOfFile(), as: UTF8.self) == "hello\n")
        // And git plumbing moving the branch back.
        let back = try store.branches["main"].back(1).commitHash
        try git(repo, "update-ref", "refs/heads/main", back)
        #expect(eventually(within: 3) { contents(mount.path("README.md")) == "hello\n" })
    }

    @Test func listingsNamesAndHistoryFollowTheBranch() throws {
        let dir = TempDir("mount")
        let (repo, _, _) = try makeHistoryRepo(dir)
        let mount = try Mount(repo, in: dir)
        defer { mount.unmount() }
        // Fill the kernel's caches: listings, names, attributes, and @~1.
        _ = try run(["ls", "-lR", mount.point])
        #expect(contents(mount.path("@~1/src/app.py")) == "print('v2')\n")
        #expect(FileManager.default.fileExists(atPath: mount.path("run.sh")))
        _ = try python("""
        import sys, vost
        fs = vost.GitStore.open(sys.argv[1], create=False).branches["main"]
        with fs.batch() as b:
            b.write("src/new.py", b"new\\n")
            b.write("deep/er/file", b"deep\\n")
            b.remove("run.sh")
            b.write("src/app.py", b"print('v3')\\n")
        """, [repo])
        let started = Date()
        #expect(eventually(within: 3) { (try? run(["ls", mount.path("src")])) == "app.py\nnew.py\n" })
        #expect(Date().timeIntervalSince(started) < 2)
        #expect(eventually(within: 3) { !FileManager.default.fileExists(atPath: mount.path("run.sh")) })
        #expect(contents(mount.path("deep/er/file")) == "deep\n")
        #expect(try run(["ls", mount.point]).contains("deep\n"))
        #expect(contents(mount.path("src/app.py")) == "print('v3')\n")
        // A tag made by git, which does not move the branch, shows in @/tags.
        #expect(try run(["ls", mount.path("@/tags")]) == "v1\n")
        try git(repo, "tag", "v2", "main")
        #expect(eventually(within: 3) { (try? run(["ls", mount.path("@/tags")])) == "v1\nv2\n" })
        #expect(contents(mount.path("@v2/src/app.py")) == "print('v3')\n")
        // @~1 now means the commit that was the tip before.
        #expect(eventually(within: 3) { contents(mount.path("@~1/src/app.py")) == "print('v2')\n" &&
                                        FileManager.default.fileExists(atPath: mount.path("@~1/run.sh")) })
        #expect(eventually(within: 3) { contents(mount.path("@~2/src/app.py")) == "print('v2')\n" &&
                                        !FileManager.default.fileExists(atPath: mount.path("@~2/run.sh")) })
    }

    @Test func refMountIsReadOnlyWithItsOwnHistory() throws {
        let dir = TempDir("mount")
        let (repo, _, _) = try makeHistoryRepo(dir)
        let mount = try Mount(repo, in: dir, arguments: ["--ref", "v1"])
        defer { mount.unmount() }
        #expect(contents(mount.path("src/app.py")) == "print('v1')\n")
        #expect(contents(mount.path("@~1/README.md")) == "hello\n")
        #expect(!FileManager.default.fileExists(atPath: mount.path("@~1/src")))
        let (_, stderr) = try runFailing(["touch", mount.path("x")])
        #expect(stderr.contains("Read-only file system"))
    }
}
