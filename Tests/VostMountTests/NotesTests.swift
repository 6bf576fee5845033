import Foundation
import Testing
@testable import SnapshotFS
import TestSupport

/// Notes (vost's and git's) as extended attributes of history folders, with `--notes`.
@Suite struct NotesTests {
    @Test func notesAreReadWrittenAndRemovedAsAttributesOfHistoryFolders() throws {
        let dir = TempDir("notes")
        let (repo, store, commits) = try makeHistoryRepo(dir)
        try store.notes.set(commits[1].commitHash, "written by the engine")
        let mount = try Mount(repo, in: dir, arguments: ["--notes"])
        defer { mount.unmount() }
        func get(_ path: String, _ name: String = "user.vost.note.commits") -> String? {
            try? run(["getfattr", "--only-values", "-n", name, mount.path(path)])
        }
        let hex = commits[1].commitID.hex
        #expect(get("@\(hex.prefix(7))") == "written by the engine")
        #expect(get("@~3") == "written by the engine", "@~3 is the same commit")
        #expect(get("@~1") == nil, "a commit without a note")
        // Written through the mount: one notes commit, as vost and git read it.
        try run(["setfattr", "-n", "user.vost.note.commits", "-v", "checked", mount.path("@~1")])
        try run(["setfattr", "-n", "user.vost.note.review", "-v", "ok", mount.path("@~1")])
        let tip1 = commits[3].commitID.hex
        #expect(try git(repo, "notes", "show", tip1) == "checked\n" || git(repo, "notes", "show", tip1) == "checked")
        #expect(try git(repo, "notes", "--ref", "review", "show", tip1).hasPrefix("ok"))
        let python = try vostPython()
        let read = try run([python, "-c", """
            import sys, vost
            repo = vost.GitStore.open(sys.argv[1], create=False)
            print(repo.notes.commits[sys.argv[2]])
            """, repo, tip1])
        #expect(read == "checked\n")
        // Listed on every route to the commit; removed with setfattr -x.
        let log = try FileManager.default.contentsOfDirectory(atPath: mount.path("@/log")).first { $0.hasSuffix(String(tip1.prefix(7))) }
        let listed = try run(["getfattr", "-d", "-m", "-", "--absolute-names", mount.path("@/log/\(try #require(log))")])
        #expect(listed.contains("user.vost.note.commits=\"checked\"") && listed.contains("user.vost.note.review=\"ok\""), "\(listed)")
        try run(["setfattr", "-x", "user.vost.note.review", mount.path("@~1")])
        #expect(get("@~1", "user.vost.note.review") == nil)
        #expect((try? git(repo, "notes", "--ref", "review", "show", tip1)) == nil)
        // Only history roots have notes; the branch and paths inside history do not.
        let (status, _) = try runFailing(["setfattr", "-n", "user.vost.note.commits", "-v", "x", mount.path("README.md")])
        #expect(status != 0)
        let (inside, _) = try runFailing(["setfattr", "-n", "user.vost.note.commits", "-v", "x", mount.path("@~1/README.md")])
        #expect(inside != 0)
        #expect(get("README.md") == nil)
        try expectFsckClean(repo)
    }

    @Test func withoutNotesTheMountHasNoExtendedAttributes() throws {
        let dir = TempDir("notes")
        let (repo, store, commits) = try makeHistoryRepo(dir)
        try store.notes.set(commits[3].commitHash, "there")
        let mount = try Mount(repo, in: dir)
        defer { mount.unmount() }
        let (status, stderr) = try runFailing(["getfattr", "-n", "user.vost.note.commits", mount.path("@~1")])
        #expect(status != 0 && stderr.contains("not supported"), "\(stderr)")
    }
}
