import Foundation
import Testing
@testable import SnapshotFS
import TestSupport

@Suite struct ConcurrencyTests {
    @Test func staleSnapshotIsRefused() throws {
        let (_, store) = try makeStore()
        let fs = try store.branches["main"]
        _ = try fs.write("a", bytes("a"))
        #expect(throws: SnapshotError.stale("branch main has moved")) { try fs.write("b", bytes("b")) }
        #expect(throws: SnapshotError.stale("branch main has moved")) { try fs.write("a", bytes("a")) }
    }

    @Test func fourThreadsOfRetryWriteLoseNothing() async throws {
        let (dir, store) = try makeStore()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for t in 0..<4 {
                group.addTask {
                    for i in 0..<100 {
                        _ = try retryWrite(store, branch: "main", path: try RepoPath("t\(t)/f\(i)"), bytes: bytes("\(t)-\(i)"), attempts: 200)
                    }
                }
            }
            try await group.waitForAll()
        }
        let tip = try store.branches["main"]
        #expect(try tip.files().count == 400)
        #expect(try git(dir.sub("repo.git"), "rev-list", "--count", "main") == "401\n")
        #expect(try tip.read("t3/f99") == bytes("3-99"))
        try expectFsckClean(dir.sub("repo.git"))
    }

    @Test func lockFileIsVostsAndIsReleased() throws {
        let (dir, store) = try makeStore()
        _ = try store.branches["main"].write("a", bytes("a"))
        let lockPath = dir.sub("repo.git/vost.lock")
        #expect(FileManager.default.fileExists(atPath: lockPath))
        // Another process can take the lock at once: we do not hold it between writes.
        try run(["flock", "-n", lockPath, "true"])
    }

    @Test func writerWaitsForTheLockHolder() throws {
        let (dir, store) = try makeStore()
        let lockPath = dir.sub("repo.git/vost.lock")
        let started = Date()
        // Hold vost.lock from another process for 0.5 s; our write must wait, then land.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        holder.arguments = [lockPath, "sleep", "0.5"]
        try holder.run()
        defer { holder.waitUntilExit() }
        // Wait until the holder really has it (non-blocking attempt fails), with a deadline.
        let deadline = Date().addingTimeInterval(5)
        while (try? run(["flock", "-n", lockPath, "true"])) != nil, Date() < deadline { usleep(5000) }
        let snap = try store.branches["main"].write("a", bytes("a"))
        #expect(snap.message == "+ a")
        #expect(Date().timeIntervalSince(started) >= 0.3)
    }
}

@Suite struct NotesTests {
    @Test func notesByHashAndByRef() throws {
        let (dir, store) = try makeStore()
        let snap = try store.branches["main"].write("a", bytes("a"))
        try store.notes.set(snap.commitHash, "reviewed")
        #expect(try store.notes.get("main") == "reviewed")
        #expect(try store.notes.contains(snap.commitHash))
        #expect(try git(dir.sub("repo.git"), "notes", "show", snap.commitHash) == "reviewed\n" ||
                (try git(dir.sub("repo.git"), "notes", "show", snap.commitHash)) == "reviewed")
        try store.notes("ci").set("main", "green")
        #expect(try store.notes("ci").count == 1)
        #expect(try store.notes.count == 1)
        try store.notes.batch { b in
            try b.set(snap.back(1).commitHash, "first")
            try b.delete("main")
        }
        #expect(try store.notes.get("main") == nil)
        #expect(try store.notes.all().values.sorted() == ["first"])
        #expect(try git(dir.sub("repo.git"), "rev-list", "--count", "refs/notes/commits") == "2\n")
        #expect(throws: SnapshotError.notFound("note for main")) { try store.notes.delete("main") }
        #expect(throws: SnapshotError.self) { try store.notes.set("nope", "x") }
        try expectFsckClean(dir.sub("repo.git"))
    }

    @Test func readsNotesWrittenByGit() throws {
        let (dir, store) = try makeStore()
        let snap = try store.branches["main"].write("a", bytes("a"))
        try git(dir.sub("repo.git"), "notes", "add", "-m", "from git", snap.commitHash)
        #expect(try store.notes.get(snap.commitHash) == "from git\n")
    }
}
