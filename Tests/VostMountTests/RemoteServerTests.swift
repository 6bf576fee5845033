import Foundation
import Testing
@testable import SnapshotFS
import TestSupport

/// The same sync over the transports people use: smart HTTP (`git http-backend` behind a
/// real web server), a server in a network namespace of its own reached over a veth link,
/// and ssh with an agent and a `~/.ssh/config` alias.
@Suite struct RemoteServerTests {
    @Test func smartHTTPCarriesTheSyncAndTheStatusHidesCredentials() throws {
        let dir = TempDir("remote-http")
        let server = try HTTPGitServer(root: dir.path, dir: dir)
        defer { server.stop() }
        let cluster = try Cluster("remote-http", url: { path in
            _ = try? run(["git", "--git-dir=\(path)", "config", "http.receivepack", "true"])
            return server.url("server.git", credentials: "someone:s3cret@")
        }, dir: dir)
        defer { cluster.unmountAll() }
        try cluster.exchangeFirstFiles()
        let url = try #require(try statusObject(cluster.mounts[0])["url"] as? String)
        #expect(url == server.url("server.git"), "credentials removed: \(url)")
        cluster.unmountAll()
        try cluster.expectAllClean()
    }

    @Test func aServerInItsOwnNetworkNamespaceAndALinkThatGoesDown() throws {
        let network = try TestNetwork()
        defer { network.remove() }
        let dir = TempDir("remote-netns")
        let daemon = try GitDaemon(base: dir.path, network: network)
        defer { daemon.stop() }
        let cluster = try Cluster("remote-netns", url: { _ in daemon.url("server.git") }, dir: dir)
        defer { cluster.unmountAll() }
        try cluster.exchangeFirstFiles()
        // The link goes down: both keep working and committing; the sync says so.
        try network.setLink(up: false)
        try writeAndSync(cluster.path(0, "while-down-0"), "a\n")
        try writeAndSync(cluster.path(1, "while-down-1"), "b\n")
        #expect(contents(cluster.path(1, "while-down-1")) == "b\n")
        #expect(eventually(within: 20) { ((try? statusObject(cluster.mounts[0]))?["error"] as? String) != nil },
                "the status shows the sync error")
        try network.setLink(up: true)
        cluster.expectConverged(within: 90)
        #expect(contents(cluster.path(0, "while-down-1")) == "b\n")
        cluster.unmountAll()
        try cluster.expectAllClean()
    }
}

/// A server that stops answering (a blackhole, not a refused connection): `@/status` says
/// which step waits and for how long while it hangs (before: nothing for 120 s, then "exit
/// status 137"), and the last push at unmount says why it was stopped.
@Suite struct BlackholeTests {
    @Test func aSilentServerIsSaidWhileItHangsAndAtUnmount() throws {
        let network = try TestNetwork()
        defer { network.remove() }
        let dir = TempDir("blackhole")
        let daemon = try GitDaemon(base: dir.path, network: network)
        defer { daemon.stop() }
        let cluster = try Cluster("blackhole", count: 1, url: { _ in daemon.url("server.git") },
                                  arguments: ["--fetch-interval", "1", "--push-timeout", "2"], dir: dir)
        defer { cluster.unmountAll() }
        try network.blackhole(true)
        defer { try? network.blackhole(false) }
        try writeAndSync(cluster.path(0, "unanswered.txt"), "x\n")
        let mount = cluster.mounts[0]
        var seen = ""
        #expect(eventually(within: 30) {
            seen = (try? statusObject(mount))?["error"] as? String ?? ""
            return seen.range(of: #"^(fetch from|push to) origin: no answer for \d+ s$"#, options: .regularExpression) != nil
        }, "status error: \(seen)")
        #expect((try? statusObject(mount))?["syncingSince"] is String)
        mount.unmount()
        let log = contents(dir.sub("m0.log")) ?? ""
        #expect(log.contains("not pushed to origin") && log.contains("no answer for 2 s, stopped"), "log: \(log)")
    }
}

/// ssh as people use it: an sshd of the test's own on 127.0.0.1, a key that exists only in
/// an `ssh-agent`, and a `~/.ssh/config` alias as the remote's URL. ssh reads the config of
/// the user's home from the password database, not `$HOME`, so the mounts run as a test user
/// whose home is the test's directory.
@Suite struct SSHRemoteTests {
    static let user = "vostmount-ssh"

    @Test func sshAliasAgentAndKnownHostsWorkAndMissingCredentialsNeverHang() throws {
        guard getuid() == 0 else {
            Issue.record("this test starts sshd and a test user: run it as root (scripts/test does)")
            return
        }
        let dir = TempDir("remote-ssh")
        let home = dir.sub("home")
        try FileManager.default.createDirectory(atPath: home + "/.ssh", withIntermediateDirectories: true)
        if (try? run(["id", "-u", Self.user])) == nil {
            try run(["useradd", "--system", "--shell", "/bin/sh", "--no-create-home", "--home-dir", home, Self.user])
        }
        // A home of this test's, and an account sshd does not see as locked.
        try run(["usermod", "-d", home, "-p", "*", Self.user])
        try run(["chmod", "a+rx", dir.path])

        // Keys: the server's host key, and the client's, which goes into the agent only.
        try run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", dir.sub("host_key")])
        try run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", dir.sub("client_key")])
        try run(["cp", dir.sub("client_key.pub"), dir.sub("authorized_keys")])
        let port = try freePort()
        try createFile(dir.sub("sshd_config"), Data("""
            Port \(port)
            ListenAddress 127.0.0.1
            HostKey \(dir.sub("host_key"))
            AuthorizedKeysFile \(dir.sub("authorized_keys"))
            StrictModes no
            UsePAM no
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            AllowUsers \(Self.user)
            PidFile none
            AcceptEnv GIT_PROTOCOL

            """.utf8))
        try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true)
        let sshd = try Background(["/usr/sbin/sshd", "-D", "-e", "-f", dir.sub("sshd_config")], label: "sshd", log: dir.sub("sshd.log"))
        defer { sshd.stop() }
        #expect(eventually(within: 10) { accepts("127.0.0.1", port) }, "sshd listens: \(contents(dir.sub("sshd.log")) ?? "")")

        let hostKey = try #require(contents(dir.sub("host_key.pub"))).split(separator: " ").prefix(2).joined(separator: " ")
        try createFile(home + "/.ssh/known_hosts", Data("[127.0.0.1]:\(port) \(hostKey)\n".utf8))
        try createFile(home + "/.ssh/config", Data("Host vostserver\n    HostName 127.0.0.1\n    Port \(port)\n    User \(Self.user)\n".utf8))
        try Cluster.makeServer(dir.sub("server.git"), seed: ["README": "hello\n"], scratch: dir.sub("seed"))
        try run(["chown", "-R", Self.user, home, dir.sub("server.git"), dir.sub("client_key"), dir.sub("authorized_keys")])
        try run(["chmod", "700", home + "/.ssh"])

        let socket = home + "/agent.sock"
        let agent = try Background(["runuser", "-u", Self.user, "--", "ssh-agent", "-D", "-a", socket], label: "ssh-agent")
        defer { agent.stop() }
        #expect(eventually(within: 10) { FileManager.default.fileExists(atPath: socket) })
        let withAgent = ["runuser", "-u", Self.user, "--", "env", "HOME=\(home)", "SSH_AUTH_SOCK=\(socket)"]
        let withoutAgent = ["runuser", "-u", Self.user, "--", "env", "HOME=\(home)", "SSH_AUTH_SOCK=\(dir.sub("no-agent"))"]
        try run(withAgent + ["ssh-add", "-q", dir.sub("client_key")])

        let url = "vostserver:\(dir.sub("server.git"))"
        var mounts: [Mount] = []
        defer { mounts.forEach { $0.unmount() } }
        for i in 0..<3 {
            try run(withAgent + ["git", "clone", "-q", "--bare", url, home + "/m\(i).git"])
            // Two mounts with the agent; the third has no credential at all.
            mounts.append(try Mount(home + "/m\(i).git", in: dir, arguments: ["--remote", "origin", "--fetch-interval", "1",
                                                                             "--log", home + "/m\(i).log"],
                                    name: "m\(i)", prefix: i < 2 ? withAgent : withoutAgent))
        }
        let asUser = ["runuser", "-u", Self.user, "--"]
        for i in 0..<3 {
            try run(asUser + ["sh", "-c", "printf 'from %s\\n' \(i) > '\(mounts[i].point)/file\(i)' && sync '\(mounts[i].point)/file\(i)'"])
        }
        func tip(_ repo: String) -> String? { try? git(repo, "rev-parse", "main") }
        #expect(eventually(within: 30) {
            let server = tip(dir.sub("server.git"))
            return server == tip(home + "/m0.git") && server == tip(home + "/m1.git")
                && (try? run(asUser + ["cat", mounts[1].path("file0")])) == "from 0\n"
                && (try? run(asUser + ["cat", mounts[0].path("file1")])) == "from 1\n"
        }, "the two mounts with credentials converge over ssh: \(contents(home + "/m0.log") ?? "")")
        // Without credentials: the mount works and commits; the status says why nothing
        // goes out; no prompt ever waits (the status is read within the deadline).
        #expect(try run(asUser + ["cat", mounts[2].path("file2")]) == "from 2\n")
        #expect(try git(home + "/m2.git", "show", "main:file2") == "from 2\n")
        var error = ""
        #expect(eventually(within: 20) {
            let text = (try? run(asUser + ["cat", mounts[2].path("@/status")])) ?? ""
            let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
            error = object?["error"] as? String ?? ""
            return !error.isEmpty
        })
        #expect(error.contains("Permission denied (publickey)"), "\(error)")
        #expect(!error.contains("\n"))
        #expect((try? git(dir.sub("server.git"), "cat-file", "-t", "main:file2")) == nil, "file2 never reached the server")

        // The same URL mounted as a URL: a partial clone whose listing asks the sizes over ssh
        // (protocol v2's object-info; this sshd accepts GIT_PROTOCOL) and fetches no content.
        try run(["git", "--git-dir=\(dir.sub("server.git"))", "config", "uploadpack.allowFilter", "true"])
        let clone = home + "/url.git"
        // Cloned by git (a mount's own first clone also fetches one file, to see that the
        // server hands out objects by name).
        try run(withAgent + ["git", "clone", "-q", "--bare", "--filter=blob:none", url, clone])
        let lazy = try Mount(url, in: dir, arguments: ["--repo", clone, "--log", home + "/url.log"], name: "url", prefix: withAgent)
        mounts.append(lazy)
        let listing = try run(asUser + ["ls", "-l", lazy.point]).split(separator: "\n").dropFirst()
        #expect(listing.count == 3, "\(listing)")
        let readme = listing.first { $0.hasSuffix(" README") }.map { $0.split(separator: " ", omittingEmptySubsequences: true) }
        #expect(readme?[4] == "6", "\(listing)")
        let blobs = try git(clone, "cat-file", "--batch-all-objects", "--batch-check=%(objecttype)").split(separator: "\n")
        #expect(!blobs.contains("blob"), "the listing fetched contents: \(contents(home + "/url.log") ?? "")")
        #expect(try run(asUser + ["cat", lazy.path("README")]) == "hello\n")
    }
}
