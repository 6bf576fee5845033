import Foundation
import Testing
@testable import SnapshotFS
import TestSupport

/// A background program a test started (a Git server, an HTTP server, sshd, ssh-agent):
/// stopped by `stop()`, which a test calls in a `defer`, and again by `deinit`.
///
/// It is started the way a daemon starts: a small Python launcher forks, the child closes
/// every inherited descriptor, starts a session of its own and execs the program, and the
/// launcher prints its pid and exits. Tests run in parallel: a server holding another
/// test's pipe open would keep that test's `run` waiting for an end of file forever (and a
/// Foundation `Process` cannot be used, since it watches its child through a descriptor).
final class Background {
    let pid: Int32
    let label: String
    private var stopped = false

    static let launcher = #"""
    import os, sys
    log, args = sys.argv[1], sys.argv[2:]
    pid = os.fork()
    if pid == 0:
        os.setsid()
        out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        null = os.open('/dev/null', os.O_RDONLY)
        os.dup2(null, 0); os.dup2(out, 1); os.dup2(out, 2)
        os.closerange(3, 1 << 16)
        try:
            os.execvp(args[0], args)
        finally:
            os._exit(127)
    print(pid)
    """#

    init(_ arguments: [String], env: [String: String] = [:], label: String, log: String? = nil) throws {
        self.label = label
        let text = try run(["python3", "-c", Self.launcher, log ?? "/dev/null"] + arguments, env: env)
        guard let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw CommandFailed(command: arguments.joined(separator: " "), status: -1, output: "no pid: \(text)")
        }
        self.pid = pid
    }

    var isAlive: Bool { isRunning(pid) }

    func stop() {
        guard !stopped else { return }
        stopped = true
        // The whole session: a server's children (git-daemon's per-connection ones) too.
        kill(-pid, SIGTERM)
        if !eventually(within: 5, { !isRunning(pid) }) { kill(-pid, SIGKILL) }
    }

    deinit { stop() }
}

/// A TCP port on 127.0.0.1 that was free a moment ago (the kernel picks it).
func freePort() throws -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw CommandFailed(command: "socket", status: errno, output: "") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard bound else { throw CommandFailed(command: "bind", status: errno, output: "") }
    return UInt16(bigEndian: address.sin_port)
}

/// Whether something accepts TCP connections at `host:port` (IPv4).
func accepts(_ host: String, _ port: UInt16) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr(host)
    address.sin_port = port.bigEndian
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }
}

/// `git daemon` serving `base` with pushes allowed, on 127.0.0.1 or, given a `TestNetwork`,
/// at its address inside that namespace; `url(name)` is a repository's address.
final class GitDaemon {
    let host: String
    let port: UInt16
    let server: Background

    /// `port`: the one a stopped daemon had, to start it again where clients look for it.
    init(base: String, network: TestNetwork? = nil, port: UInt16? = nil) throws {
        host = network?.address ?? "127.0.0.1"
        // A port free here is free in a new namespace too (it has no listeners at all).
        self.port = try port ?? freePort()
        // git-daemon itself, not `git daemon`, so that stopping it stops the server.
        let exec = try run(["git", "--exec-path"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let command = ["\(exec)/git-daemon", "--reuseaddr", "--listen=\(host)", "--port=\(self.port)", "--export-all",
                       "--enable=receive-pack", "--informative-errors", "--base-path=\(base)", base]
        server = try Background(network?.inside(command) ?? command, label: "git daemon")
        guard eventually(within: 10, { [host, port = self.port] in accepts(host, port) }) else {
            server.stop()
            throw CommandFailed(command: "git daemon", status: -1, output: "did not listen on \(host):\(self.port)")
        }
    }

    func url(_ name: String) -> String { "git://\(host):\(port)/\(name)" }
    func stop() { server.stop() }
}

/// A server repository and bare clones of it, each mounted with `--remote origin`: the
/// "several machines" of the tests, on one machine.
final class Cluster {
    let dir: TempDir
    /// The server's bare repository (its path on this machine, whatever the URL).
    let server: String
    var clones: [String] = []
    var mounts: [Mount] = []

    /// The server starts with `seed` committed (path -> content) by `git` itself; `url`
    /// defaults to the server's path.
    /// `configure` runs on each clone before it is mounted (an `lfs.url`, say).
    init(_ label: String, seed: [String: String] = ["README": "hello\n"], count: Int = 2, url: ((String) -> String)? = nil,
         arguments: [String] = ["--fetch-interval", "1"], dir: TempDir? = nil, configure: ((String) throws -> Void)? = nil) throws {
        self.dir = dir ?? TempDir(label)
        server = self.dir.sub("server.git")
        try Self.makeServer(server, seed: seed, scratch: self.dir.sub("seed"))
        let address = url?(server) ?? server
        for i in 0..<count {
            let clone = self.dir.sub("m\(i).git")
            try run(["git", "clone", "-q", "--bare", address, clone], env: gitEnv)
            try configure?(clone)
            clones.append(clone)
        }
        for (i, clone) in clones.enumerated() {
            mounts.append(try Mount(clone, in: self.dir, arguments: ["--remote", "origin", "--log", self.dir.sub("m\(i).log")] + arguments,
                                    name: "m\(i)"))
        }
    }

    static func makeServer(_ path: String, seed: [String: String], scratch: String) throws {
        try run(["git", "init", "-q", "--bare", "-b", "main", path], env: gitEnv)
        try run(["git", "init", "-q", "-b", "main", scratch], env: gitEnv)
        for (name, text) in seed {
            let file = "\(scratch)/\(name)"
            try FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try createFile(file, Data(text.utf8))
        }
        try run(["git", "-C", scratch, "add", "-A"], env: gitEnv)
        try run(["git", "-C", scratch, "commit", "-q", "-m", "seed"], env: gitEnv)
        try run(["git", "-C", scratch, "push", "-q", path, "main"], env: gitEnv)
    }

    func path(_ mount: Int, _ relative: String) -> String { mounts[mount].path(relative) }

    func tip(_ repo: String) -> String? {
        (try? run(["git", "--git-dir=\(repo)", "rev-parse", "--verify", "-q", "refs/heads/main"], env: gitEnv))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Every clone's branch equals the server's, nothing is pending, and every mount shows
    /// the server's tree (`diff -r` of each mount against the first finds nothing).
    func converged() -> Bool {
        guard let serverTip = tip(server), clones.allSatisfy({ tip($0) == serverTip }) else { return false }
        for mount in mounts {
            guard let status = try? statusObject(mount), status["pending"] as? Int == 0,
                  status["tip"] as? String == serverTip else { return false }
        }
        for mount in mounts.dropFirst() {
            guard (try? run(["diff", "-r", "--no-dereference", mounts[0].point, mount.point])) != nil else { return false }
        }
        return true
    }

    /// The first exchange of most remote tests: mount 0 writes `zero`, mount 1 writes `one`
    /// (each fsynced), and every side ends with both.
    func exchangeFirstFiles(sourceLocation: SourceLocation = #_sourceLocation) throws {
        try writeAndSync(path(0, "zero"), "0\n")
        try writeAndSync(path(1, "one"), "1\n")
        expectConverged(sourceLocation: sourceLocation)
    }

    /// Waits (polling, bounded) until `converged`; records a failure with each side's
    /// status when it does not happen.
    func expectConverged(within seconds: Double = 30, sourceLocation: SourceLocation = #_sourceLocation) {
        let done = eventually(within: seconds) { converged() }
        if !done {
            let report = mounts.map { (try? String(contentsOfFile: $0.path("@/status"), encoding: .utf8)) ?? "?" }
            let logs = (0..<mounts.count).map { (try? String(contentsOfFile: dir.sub("m\($0).log"), encoding: .utf8)) ?? "" }
            Issue.record("no convergence within \(seconds) s; server \(tip(server) ?? "-"); status: \(report); logs: \(logs)",
                         sourceLocation: sourceLocation)
        }
    }

    func expectAllClean(sourceLocation: SourceLocation = #_sourceLocation) throws {
        for repo in [server] + clones { try expectFsckClean(repo, sourceLocation: sourceLocation) }
    }

    func unmountAll() { mounts.forEach { $0.unmount() } }
}

/// `MNT/@/status` as a dictionary.
func statusObject(_ mount: Mount) throws -> [String: Any] {
    let data = try Data(contentsOf: URL(fileURLWithPath: mount.path("@/status")))
    guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
        throw CommandFailed(command: "cat \(mount.path("@/status"))", status: -1, output: "not a JSON object")
    }
    return object
}

/// Writes `text` to `path` and fsyncs it, which commits the mount's batch.
func writeAndSync(_ path: String, _ text: String) throws {
    try createFile(path, Data(text.utf8))
    let fd = open(path, O_RDONLY)
    #expect(fd >= 0, "open \(path)")
    defer { close(fd) }
    #expect(fsync(fd) == 0, "fsync \(path): \(String(cString: strerror(errno)))")
}

/// Every regular file's content in the tree at `root`, by relative path.
func fileContents(_ root: String) throws -> [String: String] {
    var out: [String: String] = [:]
    let names = try run(["find", root, "-type", "f", "-printf", "%P\\n"]).split(separator: "\n")
    for name in names { out[String(name)] = contents("\(root)/\(name)") }
    return out
}
