import Foundation
import Testing
@testable import SnapshotFS
import TestSupport

/// The built `vostmount`: `VOSTMOUNT_BIN`, else the package's debug build. A missing binary
/// fails the test (scripts/test builds it first); it never skips.
func vostmountBinary() throws -> String {
    if let path = ProcessInfo.processInfo.environment["VOSTMOUNT_BIN"] { return path }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let path = root.appendingPathComponent(".build/debug/vostmount").path
    guard FileManager.default.isExecutableFile(atPath: path) else {
        Issue.record("no vostmount binary at \(path): run `swift build` (scripts/test does)")
        throw CommandFailed(command: "vostmount", status: -1, output: "missing binary")
    }
    return path
}

/// A live mount of `repo` at a fresh mount point. `vostmount` returns only once the mount is
/// up, so there is nothing to wait for; `unmount()` must run (in a `defer`) even when the
/// test fails, and tolerates a mount that is already gone.
final class Mount {
    let point: String
    let repo: String
    private var mounted = true
    /// The daemon: `unmount` waits for it to exit, since it commits what is pending after
    /// the kernel has let go of the mount point.
    let daemon: Int32?

    /// `prefix` runs the command through another program (`runuser -u USER -- env ...`).
    init(_ repo: String, in dir: TempDir, arguments: [String] = [], name: String = "mnt", prefix: [String] = []) throws {
        self.repo = repo
        point = dir.sub(name)
        try FileManager.default.createDirectory(atPath: point, withIntermediateDirectories: true)
        if let owner = prefix.firstIndex(of: "-u").map({ prefix[$0 + 1] }) { try run(["chown", owner, point]) }
        try run(prefix + [try vostmountBinary()] + arguments + [repo, point])
        #expect(isMounted(point), "vostmount returned but \(point) is not mounted")
        daemon = try daemonPID(of: point)
        #expect(daemon != nil, "no daemon found for \(point)")
    }

    func path(_ relative: String) -> String { relative.isEmpty ? point : "\(point)/\(relative)" }

    func unmount() {
        guard mounted else { return }
        mounted = false
        if (try? run(["fusermount3", "-u", point])) == nil { _ = try? run(["fusermount3", "-u", "-z", point]) }
        if let daemon {
            #expect(eventually(within: 120) { !isRunning(daemon) }, "the daemon of \(point) did not exit")
        }
    }

    deinit { unmount() }
}

/// Whether something is mounted at `point` (by /proc/self/mountinfo).
func isMounted(_ point: String) -> Bool {
    let resolved = URL(fileURLWithPath: point).resolvingSymlinksInPath().path
    guard let info = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return false }
    return info.split(separator: "\n").contains { line in
        let fields = line.split(separator: " ")
        return fields.count > 4 && fields[4] == resolved
    }
}

/// Polls `condition` every 20 ms until it holds or `seconds` pass; returns whether it held.
func eventually(within seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        usleep(20_000)
    }
    return try condition()
}

/// Runs a command that is expected to fail; returns (status, stderr).
func runFailing(_ arguments: [String]) throws -> (Int32, String) {
    do {
        let out = try run(arguments)
        Issue.record("`\(arguments.joined(separator: " "))` succeeded: \(out)")
        return (0, "")
    } catch let failure as CommandFailed {
        return (failure.status, failure.output)
    }
}

func contents(_ path: String) -> String? {
    FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
}

/// A repository with history, made through the engine:
/// 0 Initialize; 1 "+ README.md"; 2 src/app.py v1 (tag v1, branch dev later); 3 app v2;
/// 4 + latest (link) and run.sh (executable), names with spaces, a newline, non-UTF-8.
func makeHistoryRepo(_ dir: TempDir) throws -> (repo: String, store: Store, commits: [Snapshot]) {
    let repo = dir.sub("repo.git")
    let store = try Store.open(repo)
    var snaps = [try store.branches["main"]]
    snaps.append(try snaps.last!.write("README.md", bytes("hello\n")))
    snaps.append(try snaps.last!.write("src/app.py", bytes("print('v1')\n")))
    try store.tags.set("v1", to: snaps.last!)
    snaps.append(try snaps.last!.write("src/app.py", bytes("print('v2')\n")))
    snaps.append(try snaps.last!.apply(writes: [
        "latest": .symlink(target: "src/app.py"),
        "run.sh": .data(bytes("#!/bin/sh\necho hi\n"), mode: .executable),
        "with space/a file.txt": .data(bytes("spaces\n")),
        "line\nbreak": .data(bytes("newline\n")),
        try RepoPath(bytes: [0x63, 0x61, 0x66, 0xE9]): .data(bytes("latin1\n")),
    ], message: "more kinds"))
    try store.branches.set("dev", to: snaps[2])
    return (repo, store, snaps)
}

/// Whether a process is alive (a zombie is not: nobody may reap it in a container).
func isRunning(_ pid: Int32) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return false }
    let state = stat[stat.index(close, offsetBy: 2)]
    return state != "Z" && state != "X"
}

/// A copy of `tree` without empty directories, which `git archive` leaves out (the
/// repository has them, as empty trees, but a tar of them has no entry).
func withoutEmptyDirectories(_ tree: String, in dir: TempDir) throws -> String {
    let copy = dir.sub("pruned-\(UUID().uuidString.prefix(8))")
    try run(["cp", "-a", tree, copy])
    try run(["find", copy, "-mindepth", "1", "-depth", "-type", "d", "-empty", "-delete"])
    return copy
}

/// A repository whose only file, `big`, is `size` bytes of a pattern (a copy is kept at
/// `original`), mounted at `point` with the daemon's temporary directory (its spools) at
/// `tmpdir`. The caller unmounts `point`.
func mountLargeFile(_ dir: TempDir, size: Int, tmpdir: String) throws -> (original: String, point: String) {
    let repo = dir.sub("r.git")
    let store = try Store.open(repo)
    let original = dir.sub("big")
    try createFile(original, Data((0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 13) }))
    _ = try store.branches["main"].write("big", fromFile: original)
    try FileManager.default.createDirectory(atPath: tmpdir, withIntermediateDirectories: true)
    let point = dir.sub("mnt")
    try FileManager.default.createDirectory(atPath: point, withIntermediateDirectories: true)
    try run([try vostmountBinary(), repo, point], env: ["TMPDIR": tmpdir])
    return (original, point)
}

/// A 2 MiB tmpfs at `path` (the tests run as root), to run out of room on purpose. The
/// caller unmounts it.
func mountSmallTmpfs(_ path: String) throws {
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    try run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", path])
}
