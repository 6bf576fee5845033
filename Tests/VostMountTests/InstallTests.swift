import Foundation
import Testing
import TestSupport

/// vostmount as a system program: `scripts/install` (and `--uninstall`), the man page, the
/// completions, an /etc/fstab line through `mount`, the systemd unit's command run as systemd
/// runs it, and the Debian package of `scripts/package`, really installed and removed.
/// Serialized: they build and install the same files. They need root (scripts/test runs as
/// root) and fail without it.
@Suite(.serialized) struct InstallTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    static func script(_ name: String, _ arguments: [String] = [], env: [String: String] = [:]) throws -> String {
        try run(["\(root)/scripts/\(name)"] + arguments, env: env)
    }

    static func requireRoot() throws {
        guard getuid() == 0 else {
            Issue.record("the install tests mount through mount(8) and install a package: run them as root (scripts/test does)")
            throw CommandFailed(command: "install tests", status: -1, output: "not root")
        }
    }

    /// Everything regular under `dir`, relative.
    static func files(_ dir: String) throws -> [String] {
        try run(["find", dir, "-type", "f", "-printf", "%P\\n"]).split(separator: "\n").map(String.init).sorted()
    }

    static let installed = ["bin/vostmount", "lib/systemd/system/vostmount@.service", "share/bash-completion/completions/vostmount",
                            "share/fish/vendor_completions.d/vostmount.fish", "share/man/man1/vostmount.1",
                            "share/vostmount/installed-files", "share/zsh/site-functions/_vostmount"]

    @Test func installPutsItsFilesAndUninstallRemovesExactlyThem() throws {
        try Self.requireRoot()
        let dir = TempDir("install")
        let prefix = dir.sub("prefix")
        // Something of someone else's in the same prefix stays.
        try FileManager.default.createDirectory(atPath: prefix + "/bin", withIntermediateDirectories: true)
        try createFile(prefix + "/bin/other", Data("#!/bin/sh\n".utf8))
        try Self.script("install", [prefix])
        #expect(try Self.files(prefix) == (Self.installed + ["bin/other"]).sorted())
        #expect(try run([prefix + "/bin/vostmount", "--version"]) == "vostmount 0.1.0\n")
        // The man page: every section of docs/namespace.md, options included.
        let page = try run(["man", "-l", prefix + "/share/man/man1/vostmount.1"], env: ["MANWIDTH": "100", "MAN_KEEP_FORMATTING": ""])
        for section in ["NAME", "SYNOPSIS", "OPTIONS", "HISTORY FOLDERS", "GIT LFS", "ERRORS", "SEVERAL MACHINES", "BUGS AND LIMITS"] {
            #expect(page.contains("\n\(section)\n"), "man page section \(section)")
        }
        #expect(page.contains("--lfs-fetch"))
        // bash completes options.
        let completed = try run(["bash", "-c", """
            source /usr/share/bash-completion/bash_completion
            source '\(prefix)/share/bash-completion/completions/vostmount'
            COMP_WORDS=(vostmount --lfs-f); COMP_CWORD=1; COMP_LINE='vostmount --lfs-f'; COMP_POINT=${#COMP_LINE}
            _vostmount vostmount --lfs-f vostmount; printf '%s\\n' "${COMPREPLY[@]}"
            """])
        #expect(completed.contains("--lfs-fetch"), "\(completed)")
        #expect((contents("\(prefix)/share/zsh/site-functions/_vostmount") ?? "").contains("--fetch-interval"))
        #expect((contents("\(prefix)/share/fish/vendor_completions.d/vostmount.fish") ?? "").contains("-l 'fetch-interval'"))
        // The unit names the installed binary, and systemd finds nothing wrong with it.
        let unit = prefix + "/lib/systemd/system/vostmount@.service"
        #expect((contents(unit) ?? "").contains("ExecStart=\(prefix)/bin/vostmount --foreground"))
        let verified = try run(["sh", "-c", "systemd-analyze verify --man=no '\(unit)' 2>&1; echo status $?"])
        #expect(verified.hasSuffix("status 0\n") && !verified.contains("vostmount@.service:"), "\(verified)")
        // A second install changes nothing; uninstall leaves only what was there before.
        try Self.script("install", [prefix])
        #expect(try Self.files(prefix) == (Self.installed + ["bin/other"]).sorted())
        try Self.script("install", ["--uninstall", prefix])
        #expect(try Self.files(prefix) == ["bin/other"])
        #expect(try run(["find", prefix, "-mindepth", "1", "-type", "d"]) == "\(prefix)/bin\n", "the folders it made are gone")
        // DESTDIR: the files go under it, named for the prefix.
        let stage = dir.sub("stage")
        try Self.script("install", ["/usr/local"], env: ["DESTDIR": stage])
        #expect(try Self.files(stage + "/usr/local") == Self.installed)
        #expect((contents(stage + "/usr/local/share/vostmount/installed-files") ?? "").hasPrefix("/usr/local/bin/vostmount\n"))
        try Self.script("install", ["--uninstall", "/usr/local"], env: ["DESTDIR": stage])
        #expect(try Self.files(stage).isEmpty)
    }

    /// The README's fstab line after the README's `scripts/install` (/usr/local), through
    /// `mount` and `mount.fuse3`, which look vostmount up on the standard PATH (not the
    /// caller's); `umount` commits what is pending.
    @Test func anFstabLineMountsAndUmountCommits() throws {
        try Self.requireRoot()
        let dir = TempDir("fstab")
        let manifest = "/usr/local/share/vostmount/installed-files"
        let ours = FileManager.default.fileExists(atPath: manifest)
        if FileManager.default.fileExists(atPath: "/usr/local/bin/vostmount"), !ours {
            Issue.record("/usr/local/bin/vostmount exists and scripts/install did not put it there: not overwriting it")
            return
        }
        try Self.script("install")
        // An install that was there before the test stays; one the test made goes.
        defer { if !ours { _ = try? Self.script("install", ["--uninstall"]) } }
        let server = dir.sub("server.git")
        try Cluster.makeServer(server, seed: ["README": "hello\n"], scratch: dir.sub("seed"))
        let repo = dir.sub("data.git")
        try run(["git", "clone", "-q", "--bare", server, repo], env: gitEnv)
        let point = dir.sub("mnt")
        try FileManager.default.createDirectory(atPath: point, withIntermediateDirectories: true)
        let fstab = dir.sub("fstab")
        try createFile(fstab, Data("\(repo)  \(point)  fuse.vostmount  defaults,branch=main,remote=origin,fetch_interval=1,_netdev  0 0\n".utf8))
        try run(["env", "-i", "mount", "-T", fstab, point])
        defer { if isMounted(point) { _ = try? run(["umount", "-l", point]) } }
        #expect(isMounted(point))
        #expect(contents(point + "/README") == "hello\n")
        #expect(try statusObject(path: point)["remote"] as? String == "origin")
        try createFile(point + "/from-fstab", Data("x\n".utf8))
        try run(["umount", point])
        #expect(!isMounted(point))
        // umount returns once the kernel lets go; the daemon commits right after.
        #expect(eventually(within: 15) { (try? git(repo, "show", "main:from-fstab")) == "x\n" }, "committed at umount")
        #expect(eventually(within: 15) { (try? git(server, "show", "main:from-fstab")) == "x\n" }, "and pushed")
    }

    /// `vostmount@NAME.service` as systemd runs it: its ExecStart with the variables of
    /// /etc/vostmount/NAME.conf (here a conf file of the test's), then SIGTERM, systemd's
    /// stop, which unmounts and commits.
    @Test func theSystemdUnitsCommandMountsAndStopCommits() throws {
        try Self.requireRoot()
        let dir = TempDir("unit")
        let prefix = dir.sub("prefix")
        try Self.script("install", [prefix])
        defer { _ = try? Self.script("install", ["--uninstall", prefix]) }
        let (repo, _, _) = try makeHistoryRepo(dir)
        let point = dir.sub("mnt")
        try FileManager.default.createDirectory(atPath: point, withIntermediateDirectories: true)
        let unit = try #require(contents(prefix + "/lib/systemd/system/vostmount@.service"))
        let execStart = try #require(unit.split(separator: "\n").first { $0.hasPrefix("ExecStart=") }).dropFirst("ExecStart=".count)
        #expect(unit.contains("After=network-online.target") && unit.contains("EnvironmentFile=/etc/vostmount/%i.conf"))
        // systemd splits $OPTIONS into words and keeps ${REPO} one word: sh does the same
        // with $OPTIONS unquoted and "${REPO}" quoted.
        let command = String(execStart).replacingOccurrences(of: "${REPO}", with: "\"${REPO}\"")
            .replacingOccurrences(of: "${MOUNTPOINT}", with: "\"${MOUNTPOINT}\"")
        let daemon = try Background(["sh", "-c", "exec " + command],
                                    env: ["REPO": repo, "MOUNTPOINT": point, "OPTIONS": "--commit-delay 60 --log \(dir.sub("unit.log"))"],
                                    label: "vostmount@test", log: dir.sub("journal"))
        defer { daemon.stop(); if isMounted(point) { _ = try? run(["fusermount3", "-u", "-z", point]) } }
        #expect(eventually(within: 20) { isMounted(point) }, "\(contents(dir.sub("journal")) ?? "")")
        #expect(contents(point + "/README.md") == "hello\n")
        try createFile(point + "/from-unit", Data("u\n".utf8))
        kill(daemon.pid, SIGTERM)
        #expect(eventually(within: 30) { !daemon.isAlive }, "the daemon exits on SIGTERM")
        #expect(!isMounted(point))
        #expect(try git(repo, "show", "main:from-unit") == "u\n", "committed on stop")
        #expect((contents(dir.sub("journal")) ?? "").contains("committed"), "its log reaches stderr, the journal")
    }

    /// The package installs (dpkg -i), runs, mounts, shows its man page, and removes cleanly.
    @Test func theDebianPackageInstallsRunsAndRemoves() throws {
        try Self.requireRoot()
        if FileManager.default.fileExists(atPath: "/usr/bin/vostmount"), (try? run(["dpkg", "-s", "vostmount"])) == nil {
            Issue.record("/usr/bin/vostmount exists and is not the package's: not overwriting it")
            return
        }
        let deb = try Self.script("package").trimmingCharacters(in: .whitespacesAndNewlines)
        let info = try run(["dpkg-deb", "-f", deb, "Depends"])
        for dependency in ["libgit2-1.5", "libfuse3-3", "fuse3", "git"] { #expect(info.contains(dependency), "\(info)") }
        #expect(!info.contains("swift"), "Swift's runtime is linked in")
        try run(["dpkg", "-i", deb])
        defer { _ = try? run(["dpkg", "-r", "vostmount"]) }
        #expect(try run(["/usr/bin/vostmount", "--version"]) == "vostmount 0.1.0\n")
        #expect(try run(["man", "-aw", "vostmount"]).contains("/usr/share/man/man1/vostmount.1.gz"))
        let dir = TempDir("deb")
        let (repo, _, _) = try makeHistoryRepo(dir)
        let point = dir.sub("mnt")
        try FileManager.default.createDirectory(atPath: point, withIntermediateDirectories: true)
        try run(["/usr/bin/vostmount", repo, point])
        defer { if isMounted(point) { _ = try? run(["fusermount3", "-u", "-z", point]) } }
        #expect(contents(point + "/@v1/src/app.py") == "print('v1')\n")
        try run(["fusermount3", "-u", point])
        try run(["dpkg", "-r", "vostmount"])
        #expect(!FileManager.default.fileExists(atPath: "/usr/bin/vostmount"))
        #expect(!FileManager.default.fileExists(atPath: "/usr/lib/systemd/system/vostmount@.service"))
        #expect((try? run(["dpkg", "-s", "vostmount"]))?.contains("Status: install ok installed") != true)
    }

    /// The man page is made from docs/namespace.md by scripts/man: it must be made again
    /// whenever that page changes.
    @Test func theManPageIsUpToDate() throws {
        let page = try #require(contents(Self.root + "/docs/vostmount.1"))
        let recorded = page.split(separator: "\n").first { $0.hasPrefix(".\\\" source-sha256: ") }?.split(separator: " ").last
        let actual = try run(["sha256sum", Self.root + "/docs/namespace.md"]).split(separator: " ").first
        #expect(recorded != nil && recorded == actual, "docs/namespace.md changed: run scripts/man")
        // Every option of --help is in the man page.
        let help = try run([try vostmountBinary(), "--help"])
        let options = Set(help.matches(of: /--[a-z][a-z-]+/).map { String($0.output) })
        #expect(options.count > 15)
        for option in options {
            #expect(page.contains(option) || page.contains(option.replacingOccurrences(of: "-", with: "\\-")), "\(option) in the man page")
        }
    }
}

/// `POINT/@/status` of a mount not made by `Mount`, as a dictionary.
func statusObject(path point: String) throws -> [String: Any] {
    let data = try Data(contentsOf: URL(fileURLWithPath: point + "/@/status"))
    return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
}
