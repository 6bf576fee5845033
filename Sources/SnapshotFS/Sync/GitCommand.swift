import CGit2
import Foundation

/// Runs the `git` command for the network side of a remote.
///
/// Why the command and not libgit2's transports: Debian's libgit2 reads no `~/.ssh/config`
/// and has no credential helpers, while `git` does all of it (ssh keys, `ssh-agent`,
/// `~/.ssh/config` aliases, `known_hosts`, credential helpers, https tokens, proxies,
/// `insteadOf` rules), so a remote works in a mount exactly when it works for `git`.
///
/// The child can never wait for a person: it runs in a session of its own (no controlling
/// terminal, so ssh cannot ask), with stdin from /dev/null, `GIT_TERMINAL_PROMPT=0` and
/// ssh's askpass off; whatever it would have asked becomes an error message. A deadline
/// kills its whole process group (git and its ssh).
struct GitCommand {
    struct Output {
        let status: Int32
        let stdout: String
        let stderr: String
        /// The deadline passed and the command was killed.
        let timedOut: Bool
        /// How long it ran.
        var seconds: TimeInterval = 0
        /// What went wrong in one line: the last two lines of stderr that say something
        /// (ssh's or curl's reason, then git's), without git's advice and prefixes.
        var message: String {
            // ssh ends its lines with "\r\n", which Swift sees as one character: split on both.
            let lines = stderr.components(separatedBy: .newlines).map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty && !$0.hasPrefix("hint:") && !Self.advice.contains($0) }
            var picked = lines.suffix(2).map { line in
                var line = line
                for prefix in ["fatal: ", "error: ", "remote: "] where line.hasPrefix(prefix) { line.removeFirst(prefix.count) }
                return line
            }
            // Killed at the deadline: the cause is the silence (a blackholed link, a server that
            // hangs), not the signal's "exit status 137".
            if timedOut { return "no answer for \(Int(seconds.rounded())) s, stopped" + (picked.isEmpty ? "" : " (" + picked.joined(separator: "; ") + ")") }
            if picked.isEmpty { picked = ["exit status \(status)"] }
            return picked.joined(separator: "; ")
        }

        static let advice: Set<String> = ["Please make sure you have the correct access rights", "and the repository exists."]
    }

    /// The repository git runs in (`--git-dir`); nil for a command that makes one (`clone`).
    let repository: String?

    /// The environment git runs with: ours, with every way of asking a person turned off.
    static func environment(_ extra: [String: String] = [:]) -> [String] {
        var env = ProcessInfo.processInfo.environment.merging(extra) { $1 }
        env["GIT_TERMINAL_PROMPT"] = "0"
        if env["SSH_ASKPASS_REQUIRE"] == nil { env["SSH_ASKPASS_REQUIRE"] = "never" }
        env["LC_ALL"] = "C"
        // A smudge that only copies the pointer through would fetch nothing.
        env.removeValue(forKey: "GIT_LFS_SKIP_SMUDGE")
        return env.map { "\($0.key)=\($0.value)" }
    }

    /// Input a command may be given on stdin: it is written into the pipe before the child
    /// starts, so it must fit the pipe's buffer (64 KiB on Linux; an LFS pointer is 1 KiB).
    static let maxInput = 16 << 10

    /// Runs `git --git-dir=REPO arguments...`; `onStart` gets the child's pid (a process
    /// group of its own) so that a caller can kill it early. `input` is the child's stdin
    /// (else /dev/null); with `discardingOutput` its stdout goes to /dev/null (`git lfs
    /// smudge` writes the whole object there) and `Output.stdout` is empty.
    ///
    /// With `reply`, stdin stays open after `input`: each time the child writes to stdout,
    /// `reply` sees all it wrote so far and says whether to write more (at most `maxInput`),
    /// after which stdin is closed. For a child that reads its input in two turns, the second
    /// only after answering the first (`git remote-https` in `stateless-connect` mode).
    func run(_ arguments: [String], timeout: TimeInterval, input: [UInt8]? = nil, discardingOutput: Bool = false,
             environment extra: [String: String] = [:], reply: (([UInt8]) -> Reply)? = nil,
             onStart: ((pid_t) -> Void)? = nil) throws -> Output {
        guard let git = Self.gitPath else { throw SnapshotError.remote("the git command is not installed") }
        return try spawn(git, [git] + (repository.map { ["--git-dir=\($0)"] } ?? []) + arguments, timeout: timeout, input: input,
                         discardingOutput: discardingOutput, environment: extra, reply: reply, onStart: onStart)
    }

    /// Runs the ssh command that git would run for a remote (`ObjectInfo`), in the same
    /// guarded way: `/bin/sh -c COMMAND "$@"`.
    static func runShell(_ command: String, _ arguments: [String], timeout: TimeInterval, input: [UInt8],
                         environment extra: [String: String]) throws -> Output {
        try GitCommand(repository: nil).spawn("/bin/sh", ["/bin/sh", "-c", command + " \"$@\"", "ssh"] + arguments,
                                              timeout: timeout, input: input, discardingOutput: false, environment: extra,
                                              reply: nil, onStart: nil)
    }

    private func spawn(_ program: String, _ argv: [String], timeout: TimeInterval, input: [UInt8]?, discardingOutput: Bool,
                       environment extra: [String: String], reply: (([UInt8]) -> Reply)?,
                       onStart: ((pid_t) -> Void)?) throws -> Output {
        precondition((input?.count ?? 0) <= Self.maxInput, "GitCommand input larger than a pipe holds")
        var out: [Int32] = [-1, -1]
        var err: [Int32] = [-1, -1]
        var stdin: [Int32] = [-1, -1]
        defer { for fd in stdin where fd >= 0 { close(fd) } }
        if input != nil || reply != nil {
            // Written whole before the child exists: we hold the read end, so the write can
            // neither block (it fits the buffer) nor raise SIGPIPE.
            guard Self.pipe(&stdin) else { throw SnapshotError.posix("cannot make a pipe") }
            let input = input ?? []
            let written = input.withUnsafeBytes { write(stdin[1], $0.baseAddress, $0.count) }
            if reply == nil {
                close(stdin[1])
                stdin[1] = -1
            }
            guard written == input.count else { throw SnapshotError.posix("cannot write the input of git") }
        }
        guard Self.pipe(&out) else { throw SnapshotError.posix("cannot make a pipe") }
        guard Self.pipe(&err) else {
            close(out[0]); close(out[1])
            throw SnapshotError.posix("cannot make a pipe")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if stdin[0] >= 0 {
            posix_spawn_file_actions_adddup2(&actions, stdin[0], 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        if discardingOutput {
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        } else {
            posix_spawn_file_actions_adddup2(&actions, out[1], 1)
        }
        posix_spawn_file_actions_adddup2(&actions, err[1], 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // A new session, and signals back to their defaults (the daemon blocks some).
        var defaults = sigset_t()
        sigfillset(&defaults)
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, vost_spawn_setsid_flag() | Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = Self.environment(extra).map { strdup($0) } + [nil]
        defer { (cArgs + cEnv).forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, program, &actions, &attributes, cArgs, cEnv)
        close(out[1])
        close(err[1])
        defer { close(out[0]); close(err[0]) }
        guard spawned == 0 else { throw SnapshotError.io(errno: spawned, "cannot run \(program)") }
        onStart?(pid)

        let started = Date()
        // The write end goes to `drain`, which closes it.
        let replyTo = reply.map { (fd: stdin[1], decide: $0) }
        stdin[1] = -1
        let (stdout, stderr, timedOut) = Self.drain(out[0], err[0], until: started.addingTimeInterval(timeout), pid: pid,
                                                    reply: replyTo)
        var status: Int32 = 0
        Syscalls.retryingInterrupts { waitpid(pid, &status, 0) }
        // WIFEXITED/WEXITSTATUS are macros Swift does not import.
        let exited = status & 0x7f == 0
        let code = exited ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Output(status: code, stdout: String(decoding: stdout, as: UTF8.self),
                      stderr: String(decoding: stderr, as: UTF8.self), timedOut: timedOut, seconds: Date().timeIntervalSince(started))
    }

    /// A pipe whose ends close on exec from the start (the child gets its copies through
    /// dup2 only): set afterwards, another thread's spawn could inherit them meanwhile.
    private static func pipe(_ fds: inout [Int32]) -> Bool {
        fds.withUnsafeMutableBufferPointer { vost_pipe_cloexec($0.baseAddress!) } == 0
    }

    /// What to do with a child's stdin once it has written something (see `run`).
    enum Reply {
        case wait
        case send([UInt8])
        case close
    }

    /// Reads both pipes to their end, or kills the child's group at the deadline; answers
    /// the child's stdout with `reply`, whose descriptor it closes.
    private static func drain(_ out: Int32, _ err: Int32, until deadline: Date, pid: pid_t,
                              reply: (fd: Int32, decide: ([UInt8]) -> Reply)?) -> ([UInt8], [UInt8], Bool) {
        var replyFD = reply?.fd ?? -1
        defer { if replyFD >= 0 { close(replyFD) } }
        var collected: [[UInt8]] = [[], []]
        var open = [true, true]
        var buffer = [UInt8](repeating: 0, count: 65536)
        var timedOut = false
        while open[0] || open[1] {
            let left = deadline.timeIntervalSinceNow
            if left <= 0 {
                kill(-pid, SIGKILL)
                timedOut = true
                break
            }
            var fds = [pollfd(fd: open[0] ? out : -1, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: open[1] ? err : -1, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&fds, 2, Int32(min(left, 1) * 1000) + 1)
            // An interrupted poll comes round again (the deadline is checked above).
            if ready < 0 && errno != EINTR { break }
            for i in 0..<2 where open[i] && fds[i].revents != 0 {
                // A pipe that fails to read is done, as one at its end: git's status says the rest.
                var n = 0
                do { n = try buffer.withUnsafeMutableBytes { try Syscalls.readOnce(fds[i].fd, into: $0, "git's output") } } catch { n = 0 }
                if n > 0 { collected[i] += buffer[0..<n] } else { open[i] = false }
                if i == 0, n > 0, replyFD >= 0, let reply {
                    switch reply.decide(collected[0]) {
                    case .wait: continue
                    case .send(let bytes):
                        precondition(bytes.count <= maxInput, "GitCommand reply larger than a pipe holds")
                        writeIgnoringSIGPIPE(replyFD, bytes)
                    case .close: break
                    }
                    close(replyFD)
                    replyFD = -1
                }
            }
        }
        return (collected[0], collected[1], timedOut)
    }

    /// Writes to a pipe whose reader may have gone: that is the child's failure (its status
    /// and stderr say it), not a SIGPIPE that would end this process.
    private static func writeIgnoringSIGPIPE(_ fd: Int32, _ bytes: [UInt8]) {
        var pipeSignal = sigset_t()
        sigemptyset(&pipeSignal)
        sigaddset(&pipeSignal, SIGPIPE)
        var previous = sigset_t()
        pthread_sigmask(SIG_BLOCK, &pipeSignal, &previous)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if written < 0, errno == EPIPE {
            // Take the signal this write raised for this thread before unblocking it.
            var none = timespec(tv_sec: 0, tv_nsec: 0)
            _ = sigtimedwait(&pipeSignal, nil, &none)
        }
        pthread_sigmask(SIG_SETMASK, &previous, nil)
    }

    static let gitPath: String? = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") + ["/usr/bin", "/usr/local/bin"] {
            let candidate = "\(dir)/git"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }()
}
