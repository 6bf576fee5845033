import ArgumentParser
import Foundation
import Logging
import SnapshotFS

@main
struct VostMount: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vostmount",
        abstract: "Mount a Git repository's branch as a directory; its history appears as read-only @ folders.",
        discussion: """
        Examples:
          vostmount data.git ./mnt                 mount the current branch
          vostmount --branch dev data.git ./mnt    mount branch dev
          vostmount --ref v1.0 data.git ./mnt      mount a tag (or any revision) read-only
          ls ./mnt/@~3/   ls ./mnt/@v1.0/   ls ./mnt/@/log/
          fusermount3 -u ./mnt                     unmount
          vostmount --remote origin data.git ./mnt push every commit to remote origin, fetch and merge
          cat ./mnt/@/status                       where the mount stands (JSON): sync, pending, conflicts

        In /etc/fstab:
          /srv/data.git  /mnt/data  fuse.vostmount  defaults,branch=main  0 0
        See man vostmount (docs/namespace.md) for every @ folder, option, mode and error.
        """,
        version: "vostmount 0.1.0")

    @Argument(help: "The Git repository (bare or not), or a URL to mount without cloning it whole (ssh, https, git://, file://, host:path).")
    var repository: String

    @Option(help: ArgumentHelp("With a URL: the folder of its partial clone, made at the first mount and reused after (default ~/.cache/vostmount/NAME-HASH.git).", valueName: "dir"))
    var repo: String?

    @Argument(help: "An existing, empty directory to mount on (-o nonempty mounts over files, hiding them).")
    var mountpoint: String

    @Option(help: "The branch to mount (default: the one HEAD names).")
    var branch: String?

    @Option(help: "Mount this revision (tag, commit, main~3...) read-only instead of a branch.")
    var ref: String?

    @Flag(help: "Mount the branch read-only.")
    var readOnly = false

    @Flag(name: [.short, .long], help: "Stay in the foreground instead of daemonising.")
    var foreground = false

    @Flag(name: [.short, .long], help: "Log every request (implies --foreground).")
    var debug = false

    @Option(name: .customShort("o"), help: "Mount options, comma-separated: allow_other, ro, branch=NAME, ref=REV, ...")
    var options: [String] = []

    @Flag(help: "Create the repository (bare, branch main) if it does not exist.")
    var create = false

    @Option(help: "Author and committer name of new commits (default: git's, from GIT_AUTHOR_NAME or user.name; else vost).")
    var author: String?

    @Option(help: "Author and committer email of new commits (default: git's, from GIT_AUTHOR_EMAIL or user.email; else vost@localhost).")
    var email: String?

    // Numbers are taken as given, even `-1` (which would otherwise read as an option and say
    // "Missing value"), and checked by `ArgumentChecks`, which says what is allowed.
    @Option(parsing: .unconditional, help: ArgumentHelp("Seconds of quiet (nothing open for writing, no change) before pending changes commit (default 1).",
                                                        valueName: "seconds"))
    var commitDelay: String?

    @Option(help: "Directory for file data being written, until it is committed (default: REPO/vostmount-staging).")
    var staging: String?

    @Option(help: ArgumentHelp("Keep the branch in step with this remote of the repository: push after every commit, fetch and merge.",
                               valueName: "name"))
    var remote: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("With --remote: seconds between fetches (default 15; a rejected push fetches at once).",
                                                        valueName: "seconds"))
    var fetchInterval: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("With --remote: on unmount, seconds the last push may take (default 10); commits left unpushed go out at the next mount.",
                                                        valueName: "seconds"))
    var pushTimeout: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("With --remote, which Git LFS objects come from the remote's LFS endpoint: all (those of every fetched tip, in the background) or open (only a file being opened waits for its own).",
                               valueName: "all|open"))
    var lfsFetch: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("With --remote, seconds an open waits for its LFS object before failing with EIO (default 60).",
                                                        valueName: "seconds"))
    var lfsTimeout: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("For a partial clone (a URL mount): keep at most SIZE (bytes, or with k, M, G) of the file contents fetched when read, least recently read dropped first (default: a tenth of the free space).",
                                                        valueName: "size"))
    var cacheSize: String?

    @Flag(help: "Show notes as extended attributes of history folders (user.vost.note.NAMESPACE on MNT/@REV, MNT/@/log/ENTRY...); costs ls -l two round trips per name.")
    var notes = false

    @Flag(help: "Show Git LFS pointers as the small text files the commits hold, instead of the content they point to, and store nothing in LFS.")
    var noLFS = false

    @Option(parsing: .unconditional, help: ArgumentHelp("Store new files larger than SIZE (bytes, or with k, M, G) in Git LFS, whatever .gitattributes says.", valueName: "size"))
    var lfsThreshold: String?

    @Flag(help: "Serve every read of an LFS file through the mount, instead of letting the kernel read the LFS object itself (FUSE passthrough, Linux 6.9+, as root), which refuses writing to an LFS file while it is open for reading.")
    var noPassthrough = false

    @Flag(help: "Warm reads at native speed on a read-write mount: the kernel sends no open or release for files; a file then counts as being written until it has had no write for the commit delay, open or not.")
    var noOpen = false

    @Option(help: "Append log lines (commits, pushes, merges, errors) to this file instead of REPO/vostmount.log.")
    var log: String?

    func run() throws {
        do {
            try mount()
        } catch let failure as CleanExit {
            throw failure
        } catch {
            let text: String
            if let error = error as? SnapshotError {
                text = Self.describe(error)
            } else {
                text = "\(error)"
            }
            FileHandle.standardError.write(Data("vostmount: \(text)\n".utf8))
            throw ExitCode(1)
        }
    }

    private func mount() throws {
        // A daemon keeps nothing it inherited beyond stdin/out/err (which libfuse points at
        // /dev/null): a caller's pipe held open by us would never see end-of-file.
        if !(foreground || debug) { Preflight.closeInheritedDescriptors() }
        var mountOptions = MountOptions(parsing: options)
        let branchName = branch ?? mountOptions.branch
        let revision = ref ?? mountOptions.ref
        let readOnlyMount = readOnly || mountOptions.readOnly || revision != nil

        try Preflight.checkMountpoint(mountpoint, allowNonEmpty: mountOptions.nonEmpty)
        try Preflight.checkFuseDevice()
        // A URL: its partial clone (made now, or kept from an earlier mount) is the repository,
        // kept in step with the URL as with --remote origin.
        var repository = self.repository
        var impliedRemote: String?
        if PartialClone.isURL(repository) {
            let directory = repo ?? PartialClone.directory(for: repository, in: Self.cacheDirectory)
            guard remote == nil || remote == "origin", mountOptions.remote == nil || mountOptions.remote == "origin" else {
                throw Preflight.Failure("a URL mount keeps the branch in step with the URL itself (remote origin): leave out --remote")
            }
            try PartialClone.ensure(url: repository, directory: directory) { note in
                FileHandle.standardError.write(Data("vostmount: \(note)\n".utf8))
            }
            repository = directory
            impliedRemote = revision == nil ? "origin" : nil
        } else if repo != nil {
            throw Preflight.Failure("--repo is for mounting a URL; \(repository) is a local repository")
        }
        let store: Store
        do {
            // git's identity (its environment, then the repository's, the user's and the
            // system's config), --author and --email overriding; vost's where git has none.
            // Every commit also names the host that made it, in a trailer.
            var (gitAuthor, gitCommitter) = Identity.fromGit(repository: repository)
            if let author { gitAuthor.name = author; gitCommitter.name = author }
            if let email { gitAuthor.email = email; gitCommitter.email = email }
            store = try Store.open(repository, create: create, author: gitAuthor.name, email: gitAuthor.email,
                                   committer: gitCommitter, trailer: "Vostmount-Host: \(Self.hostName)")
        } catch SnapshotError.notFound {
            throw Preflight.Failure("no repository at \(repository) (use --create to make one)")
        }

        var config = MountConfig(branch: nil, fixed: nil, readOnly: readOnlyMount)
        if let revision {
            do { config.fixed = try store.resolve(revision).commitID } catch {
                throw Preflight.Failure("unknown revision \(revision) in \(repository)")
            }
        } else {
            guard let name = branchName ?? store.branches.headName else {
                throw Preflight.Failure("\(repository): HEAD names no branch; use --branch")
            }
            if try !store.branches.contains(name) {
                // An empty repository (`git init`): the branch is born with the mount's first
                // commit, or at once with --create (vost's "Initialize <branch>").
                guard try store.branches.isEmpty else { throw Preflight.Failure("no branch \(name) in \(repository)") }
                if create, !readOnlyMount { try store.initialize(branch: name) }
            }
            // As `git push` refuses to update a checked-out branch: commits through the mount
            // would move it under that work tree, whose next `git commit -a` undoes them.
            if !config.readOnly, let checkedOut = try store.checkedOutBranches().first(where: { $0.branch == name }) {
                throw Preflight.Failure("branch \(name) is checked out in \(checkedOut.workTree); mount it --read-only, "
                                        + "mount another --branch, or mount a bare clone (git clone --bare)")
            }
            config.branch = name
        }
        if let given = ArgumentChecks.Given(commitDelay, "--commit-delay", nil, "") {
            config.commitDelay = try ArgumentChecks.seconds(given, zeroAllowed: true)
        }
        config.staging = staging
        config.notes = notes || mountOptions.notes
        config.lfs = !(noLFS || mountOptions.noLFS)
        config.passthrough = !(noPassthrough || mountOptions.noPassthrough)
        config.noOpen = noOpen || mountOptions.noOpen
        if config.noOpen, config.commitDelay == 0 {
            throw Preflight.Failure("--no-open and --commit-delay 0 contradict each other: a commit at each close needs the closes")
        }
        if let given = ArgumentChecks.Given(lfsThreshold, "--lfs-threshold", mountOptions.lfsThreshold, "lfs_threshold") {
            let bytes = try ArgumentChecks.size(given)
            guard config.lfs else { throw Preflight.Failure("--lfs-threshold and --no-lfs contradict each other: give one") }
            config.lfsThreshold = bytes
        }
        config.remote = remote ?? mountOptions.remote ?? impliedRemote
        if let given = ArgumentChecks.Given(fetchInterval, "--fetch-interval", mountOptions.fetchInterval, "fetch_interval") {
            config.fetchInterval = try ArgumentChecks.seconds(given, zeroAllowed: false)
        }
        if let given = ArgumentChecks.Given(pushTimeout, "--push-timeout", mountOptions.pushTimeout, "push_timeout") {
            config.pushTimeout = try ArgumentChecks.seconds(given, zeroAllowed: true)
        }
        // Fetching every LFS object of a tip would read every blob of it: a partial clone
        // fetches an object when a file is opened, unless told otherwise.
        if store.isPartialClone { config.lfsFetch = .open }
        if let given = ArgumentChecks.Given(lfsFetch, "--lfs-fetch", mountOptions.lfsFetch, "lfs_fetch") {
            guard let mode = LFSDownloads.Mode(rawValue: given.text) else {
                throw Preflight.Failure("\(given.shown): give all or open")
            }
            config.lfsFetch = mode
        }
        if let given = ArgumentChecks.Given(lfsTimeout, "--lfs-timeout", mountOptions.lfsTimeout, "lfs_timeout") {
            config.lfsTimeout = try ArgumentChecks.seconds(given, zeroAllowed: false)
        }
        if let given = ArgumentChecks.Given(cacheSize, "--cache-size", mountOptions.cacheSize, "cache_size") {
            let bytes = try ArgumentChecks.size(given)
            guard store.isPartialClone else {
                throw Preflight.Failure("\(given.shown): \(repository) is a complete repository, which fetches nothing to keep")
            }
            store.limitFetchedContent(to: bytes)
        } else if store.isPartialClone {
            store.limitFetchedContent(to: Self.defaultCacheSize(repository: store.path))
        }
        let logFile = try DaemonLog.open(explicit: log, repository: store.path)
        config.logDescriptor = logFile?.fd
        config.logPath = logFile?.path
        if config.remote != nil, config.branch == nil {
            throw Preflight.Failure("--remote needs a branch; a --ref mount shows one fixed revision")
        }
        if config.readOnly { mountOptions.kernel.append("ro") }
        mountOptions.kernel.append("fsname=\(Self.escape(store.path))")
        mountOptions.kernel.append("subtype=vostmount")

        DaemonLog.bootstrap(file: logFile?.fd, level: debug ? .debug : .info)
        let logger = Logger(label: "vostmount")
        let fs = try Filesystem(store: store, config: config, logger: logger)
        try Session.run(fs, mountpoint: mountpoint, options: mountOptions.kernel, foreground: foreground || debug, debug: debug)
    }

    /// A tenth of the space free for the repository's file system when it is mounted.
    static func defaultCacheSize(repository: String) -> Int {
        var info = statvfs()
        guard statvfs(repository, &info) == 0 else { return 1 << 30 }  // the clone was just opened: 1 GiB if the question fails
        return Int(info.f_bavail) * Int(info.f_frsize) / 10
    }

    /// Where URL mounts keep their clones: `$XDG_CACHE_HOME/vostmount`, else `~/.cache/vostmount`.
    static var cacheDirectory: String {
        let environment = ProcessInfo.processInfo.environment
        if let cache = environment["XDG_CACHE_HOME"], cache.hasPrefix("/") { return cache + "/vostmount" }
        return (environment["HOME"] ?? NSHomeDirectory()) + "/.cache/vostmount"
    }

    /// This machine's name, for the trailer of every commit.
    static var hostName: String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "unknown" }
        let name = String(cString: buffer)
        return name.isEmpty ? "unknown" : name
    }

    /// Commas separate mount options, so a repository path with one cannot name the mount.
    static func escape(_ path: String) -> String { path.replacingOccurrences(of: ",", with: "_") }

    static func describe(_ error: SnapshotError) -> String {
        switch error {
        case .notFound(let what), .invalidArgument(let what), .invalidRevision(let what), .invalidPath(let what):
            return what
        default:
            return error.description
        }
    }
}
