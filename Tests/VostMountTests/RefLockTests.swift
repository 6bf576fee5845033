import Foundation
import Testing
@testable import SnapshotFS
import TestSupport

/// A ref's lock file (`refs/heads/main.lock`) left by a writer that died mid-update never
/// stops the repository: before, `kill -9` loops left one within about 50 rounds, and from
/// then on every fsync answered EAGAIN and the commit at unmount was lost.
@Suite struct RefLockTests {
    /// Makes `refs/heads/main.lock` as a killed daemon leaves it: empty, `age` seconds old.
    private func leaveLock(_ repo: String, age: Int, directory: Bool = false) throws -> String {
        let lock = repo + "/refs/heads/main.lock"
        if directory { try FileManager.default.createDirectory(atPath: lock, withIntermediateDirectories: false) } else {
            try createFile(lock, Data())
        }
        try run(["touch", "-d", "-\(age) seconds", lock])
        return lock
    }

    @Test func aLockLeftByADeadWriterIsRemovedAndTheCommitLands() throws {
        let dir = TempDir("stale-lock")
        let (repo, _, _) = try makeHistoryRepo(dir)
        let lock = try leaveLock(repo, age: 30)
        let log = dir.sub("mount.log")
        let mount = try Mount(repo, in: dir, arguments: ["--commit-delay", "600", "--log", log])
        defer { mount.unmount() }
        try sh("echo after > after.txt && sync after.txt", in: mount.point)
        #expect(!FileManager.default.fileExists(atPath: lock))
        #expect(try git(repo, "show", "main:after.txt") == "after\n")
        #expect(contents(log)?.contains("removed \(lock)") == true, "the log says what was removed: \(contents(log) ?? "")")
        try expectFsckClean(repo)
    }

    @Test func aYoungLockIsWaitedForNotRemoved() throws {
        // git holding the ref for 0.8 s (it holds it for milliseconds; a slow one is still alive).
        try expectLockWaitedFor("young-lock", age: 0) { lock in "sleep 0.8; rm -f '\(lock)'" }
    }

    /// An old lock file that a live process has open (git syncing it on a busy disk) is a
    /// writer at work, not a dead one's leftover: waited for, never removed from under it.
    @Test func anOldLockThatIsOpenIsWaitedForNotRemoved() throws {
        try expectLockWaitedFor("open-lock", age: 30, holdsItOpen: true) { lock in "exec 3<'\(lock)'; sleep 1.5; rm -f '\(lock)'" }
    }

    /// A lock file `age` seconds old that a process (`holder`'s script) lets go of later: a
    /// commit's fsync returns only after that, and the commit lands.
    private func expectLockWaitedFor(_ label: String, age: Int, holdsItOpen: Bool = false,
                                     holder script: (String) -> String) throws {
        let dir = TempDir(label)
        let (repo, _, _) = try makeHistoryRepo(dir)
        let mount = try Mount(repo, in: dir, arguments: ["--commit-delay", "600"])
        defer { mount.unmount() }
        let lock = try leaveLock(repo, age: age)
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/bin/sh")
        holder.arguments = ["-c", script(lock)]
        try holder.run()
        defer { holder.waitUntilExit() }
        if holdsItOpen {
            #expect(eventually(within: 5) { (try? run(["sh", "-c", "ls -l /proc/\(holder.processIdentifier)/fd | grep -q main.lock"])) != nil })
        }
        try sh("echo waited > waited.txt && sync waited.txt", in: mount.point)
        #expect(holder.isRunning == false, "the fsync returned only after the holder let go")
        #expect(try git(repo, "show", "main:waited.txt") == "waited\n")
    }

    @Test func aLockThatCannotBeRemovedFailsWithEIOAndIsNamed() throws {
        let dir = TempDir("stuck-lock")
        let (repo, _, _) = try makeHistoryRepo(dir)
        let log = dir.sub("mount.log")
        let mount = try Mount(repo, in: dir, arguments: ["--commit-delay", "600", "--log", log])
        defer { mount.unmount() }
        // A directory in the lock's place: unlink(2) cannot remove it.
        let lock = try leaveLock(repo, age: 30, directory: true)
        try sh("echo stuck > stuck.txt", in: mount.point)
        let (_, message) = try runFailing(["sync", mount.path("stuck.txt")])
        #expect(message.contains("Input/output error"), "fsync answers EIO, not EAGAIN: \(message)")
        #expect(contents(log)?.contains(lock) == true, "the log names the lock file: \(contents(log) ?? "")")
        try FileManager.default.removeItem(atPath: lock)
        try run(["sync", mount.path("stuck.txt")])
        #expect(try git(repo, "show", "main:stuck.txt") == "stuck\n", "nothing was lost meanwhile")
    }

    /// The loop of the report: mount, a write+fsync loop, `kill -9` of the daemon at a random
    /// moment, lazy unmount; then the next mount commits as ever.
    @Test func killDashNineLoopsNeverStopTheRepository() throws {
        let dir = TempDir("kill-loop")
        let (repo, _, _) = try makeHistoryRepo(dir)
        var rng = SystemRandomNumberGenerator()
        for round in 0..<20 {
            let mount = try Mount(repo, in: dir, arguments: ["--commit-delay", "600"], name: "m\(round)")
            defer { mount.unmount() }
            try sh("echo 'round \(round)' > durable-\(round) && sync durable-\(round)", in: mount.point)
            let writer = Process()
            writer.executableURL = URL(fileURLWithPath: "/bin/sh")
            writer.arguments = ["-c", "i=0; while [ $i -lt 100000 ]; do echo $i > f-\(round)-$i && sync f-\(round)-$i || exit 0; i=$((i+1)); done"]
            writer.currentDirectoryURL = URL(fileURLWithPath: mount.point)
            try writer.run()
            usleep(UInt32.random(in: 100_000...600_000, using: &rng))
            kill(try #require(mount.daemon), SIGKILL)
            _ = try? run(["fusermount3", "-u", "-z", mount.point])
            writer.waitUntilExit()
            #expect(try git(repo, "show", "main:durable-\(round)") == "round \(round)\n")
        }
        try expectFsckClean(repo)
        let last = try Mount(repo, in: dir, arguments: ["--commit-delay", "600"], name: "last")
        defer { last.unmount() }
        try sh("echo last > last.txt && sync last.txt", in: last.point)
        #expect(try git(repo, "show", "main:last.txt") == "last\n")
        #expect(!FileManager.default.fileExists(atPath: repo + "/refs/heads/main.lock"))
    }
}
