import Foundation
import Testing
@testable import SnapshotFS
import TestSupport

/// Windows' "Previous Versions" through Samba: a share of the mount with `vfs_shadow_copy2`
/// pointed at `@/gmt` (the lines docs/namespace.md gives), asked by `smbclient` as a
/// Windows client would ask: the snapshots a file has, and an old version's content.
@Suite struct SambaTests {
    @Test func sambaShowsEveryCommitAsAPreviousVersion() throws {
        // smbd switches to the guest user to open files, which only root can set up.
        #expect(getuid() == 0, "smbd needs root to serve a share to a guest; run the tests as root")
        guard getuid() == 0 else { return }
        let dir = TempDir("samba")
        try run(["chmod", "755", dir.path])  // smbd serves as `nobody`, who must reach the mount
        let (repo, _) = try VersionsTests.makeRepo(dir)
        // allow_other: smbd reads as the guest account, not as the mounting user.
        let mount = try Mount(repo, in: dir, arguments: ["-o", "allow_other", "--read-only"])
        defer { mount.unmount() }
        let state = dir.sub("samba")
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        let port = try freePort()
        let conf = dir.sub("smb.conf")
        try Data("""
            [global]
              server role = standalone server
              disable netbios = yes
              smb ports = \(port)
              interfaces = 127.0.0.1
              bind interfaces only = yes
              map to guest = Bad User
              pid directory = \(state)
              lock directory = \(state)
              state directory = \(state)
              cache directory = \(state)
              private dir = \(state)
              ncalrpc dir = \(state)/ncalrpc
              log file = \(state)/log.%m
              load printers = no
              printcap name = /dev/null
            [vost]
              path = \(mount.point)
              read only = yes
              guest ok = yes
              vfs objects = shadow_copy2
              shadow:mountpoint = \(mount.point)
              shadow:snapdir = @/gmt
              shadow:format = @GMT-%Y.%m.%d-%H.%M.%S
              shadow:localtime = no

            """.utf8).write(to: URL(fileURLWithPath: conf))
        let smbd = try Background(["smbd", "--foreground", "--no-process-group", "--debug-stdout", "--configfile=\(conf)"],
                                  label: "smbd", log: dir.sub("smbd.log"))
        defer { smbd.stop() }
        #expect(eventually(within: 20) { accepts("127.0.0.1", port) }, "smbd did not listen: \(contents(dir.sub("smbd.log")) ?? "")")
        func smbclient(_ command: String) throws -> String {
            try run(["smbclient", "//127.0.0.1/vost", "-p", "\(port)", "-N", "--configfile=\(conf)", "-c", command])
        }
        // Every commit is a snapshot of the share (Samba offers them all for each file).
        let info = try smbclient("allinfo report.txt")
        let listed = info.split(separator: "\n").filter { $0.hasPrefix("@GMT-") }.map(String.init)
        #expect(Set(listed) == Set((0..<5).map(VersionsTests.gmtName)), "\(info)")
        let old = dir.sub("old.txt")
        _ = try smbclient("get \(VersionsTests.gmtName(0))\\report.txt \(old)")
        #expect(contents(old) == "v1\n")
        // Commit 3 deleted it: that snapshot has no such file.
        #expect(try runFailing(["smbclient", "//127.0.0.1/vost", "-p", "\(port)", "-N", "--configfile=\(conf)",
                                "-c", "get \(VersionsTests.gmtName(3))\\report.txt \(dir.sub("none.txt"))"]).0 != 0)
        let now = dir.sub("now.txt")
        _ = try smbclient("get report.txt \(now)")
        #expect(contents(now) == "v3\n")
    }
}
