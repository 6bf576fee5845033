import CFuse
import Foundation

/// One libfuse session: mount, daemonise, serve with a thread pool, unmount.
///
/// Order matters: the mount happens before `fuse_daemonize`, so when the parent process
/// returns the mount is already there (requests wait in the kernel until the loop starts),
/// and no thread is started before the fork.
enum Session {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func run(_ fs: Filesystem, mountpoint: String, options: [String], foreground: Bool, debug: Bool) throws {
        var argv: [String] = ["vostmount"]
        if !options.isEmpty { argv += ["-o", options.joined(separator: ",")] }
        if debug { argv.append("-d") }
        // libfuse may keep pointers into argv for the session's life: give it its own copies.
        let cArgs = argv.map { strdup($0) }
        defer { cArgs.forEach { free($0) } }
        var pointers: [UnsafeMutablePointer<CChar>?] = cArgs + [nil]
        var ops = Operations.make()
        let userdata = Unmanaged.passRetained(fs)
        defer { userdata.release() }

        let session: OpaquePointer? = pointers.withUnsafeMutableBufferPointer { argvBuffer in
            var args = fuse_args(argc: Int32(cArgs.count), argv: argvBuffer.baseAddress, allocated: 0)
            let se = fuse_session_new(&args, &ops, MemoryLayout<fuse_lowlevel_ops>.size, userdata.toOpaque())
            fuse_opt_free_args(&args)
            return se
        }
        guard let session else { throw Failure(description: "cannot start a FUSE session (options: \(options.joined(separator: ",")))") }
        defer { fuse_session_destroy(session) }
        // SIGINT/SIGTERM/SIGHUP end the loop (and so unmount). A parent may have spawned us
        // with them blocked; unblock them here, where libfuse's handlers will run.
        Signals.setExitSignals(blocked: false)
        guard fuse_set_signal_handlers(session) == 0 else { throw Failure(description: "cannot install signal handlers") }
        defer { fuse_remove_signal_handlers(session) }
        guard fuse_session_mount(session, mountpoint) == 0 else {
            throw Failure(description: "cannot mount on \(mountpoint) (is /dev/fuse usable, and fusermount3 installed?)")
        }
        defer { fuse_session_unmount(session) }
        if fs.config.passthrough, fs.config.lfs, PassthroughChannel.processMayUse, !fs.passthrough.install(on: session) {
            fs.logger.info("cannot route the session's I/O for FUSE passthrough: LFS files are read through the mount")
        }
        fuse_daemonize(foreground ? 1 : 0)
        // A daemon's stderr is /dev/null: it becomes the log file (see `DaemonLog`).
        if let log = fs.config.logDescriptor, !foreground, dup2(log, 2) >= 0 { DaemonLog.stderrIsFile.store(true, ordering: .relaxed) }

        fs.session = session
        fs.start()
        defer { fs.stop() }
        let config = fuse_loop_cfg_create()
        defer { fuse_loop_cfg_destroy(config) }
        fuse_loop_cfg_set_max_threads(config, 16)
        let code = fuse_session_loop_mt(session, config)
        if code != 0 && code != -EINTR { fs.logger.error("session loop ended with \(code)") }
    }
}

/// Which threads may receive the signals that end the session.
enum Signals {
    static let exitSignals = [SIGINT, SIGTERM, SIGHUP]

    /// libfuse's handler only sets a flag; the loop's main thread notices because its wait is
    /// interrupted. So the main thread must receive these signals, and our own helper threads
    /// (which would swallow them) must block them; libfuse's workers already do.
    /// Starts a helper thread of ours (the poller, the sync): exit signals blocked on it.
    static func startHelper(named name: String, _ body: @escaping @Sendable () -> Void) {
        let thread = Thread {
            setExitSignals(blocked: true)
            body()
        }
        thread.name = name
        thread.start()
    }

    static func setExitSignals(blocked: Bool) {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in exitSignals { sigaddset(&set, signal) }
        pthread_sigmask(blocked ? SIG_BLOCK : SIG_UNBLOCK, &set, nil)
    }
}
