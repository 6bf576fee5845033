import Foundation
import Testing
@testable import SnapshotFS
import TestSupport

/// Every descriptor the daemon opens is close-on-exec: the `git` (and `ssh`) processes of the
/// sync inherit none. Before, staging files, spools, pack writers and temp files were made
/// with `mkstemp`, and an ssh ControlPersist master kept unlinked spools of GiBs alive.
@Suite struct DescriptorTests {
    @Test func gitRunByTheSyncInheritsNoDescriptorOfTheDaemon() throws {
        let dir = TempDir("fds")
        let server = dir.sub("server.git")
        try Cluster.makeServer(server, seed: ["README": "hello\n"], scratch: dir.sub("seed"))
        let clone = dir.sub("clone.git")
        try run(["git", "clone", "-q", "--bare", server, clone], env: gitEnv)
        // The server side of every fetch records the descriptors it inherited from the
        // `git fetch` the daemon ran (git passes its own inherited ones on).
        let records = dir.sub("records")
        try FileManager.default.createDirectory(atPath: records, withIntermediateDirectories: true)
        let script = dir.sub("upload-pack.sh")
        try createFile(script, Data("#!/bin/sh\nls -l /proc/$$/fd > '\(records)/fds.'$$ 2>&1\nexec git upload-pack \"$@\"\n".utf8))
        try run(["chmod", "+x", script])
        try git(clone, "config", "remote.origin.uploadpack", script)
        let mount = try Mount(clone, in: dir, arguments: ["--remote", "origin", "--fetch-interval", "1", "--commit-delay", "600"])
        defer { mount.unmount() }
        // Descriptors the daemon holds while fetches run: a staged file open for writing, a
        // committed pack (over 64 objects), a spooled large blob being read (over 8 MiB).
        try sh("mkdir many && for i in $(seq 1 80); do echo $i > many/$i; done && sync many/1", in: mount.point)
        try sh("head -c 9000000 /dev/urandom > big.bin && sync big.bin", in: mount.point)
        // (Through history: a new inode, whose pages the kernel does not have from the write.)
        let reader = try #require(FileHandle(forReadingAtPath: mount.path("@~0/big.bin")))
        defer { try? reader.close() }
        // Far ahead, then back: a large blob read out of order is spooled.
        try reader.seek(toOffset: 8_900_000)
        _ = reader.readData(ofLength: 1000)
        try reader.seek(toOffset: 0)
        _ = reader.readData(ofLength: 1000)
        let writer = try #require(FileHandle(forWritingAtPath: mount.path("README")))
        defer { try? writer.close() }
        writer.write(Data(repeating: 0x61, count: 2_000_000))
        let held = try run(["ls", "-l", "/proc/\(try #require(mount.daemon))/fd"])
        #expect(held.contains("vostmount-staging/") && held.contains("vost-spool"), "the daemon holds a staged file and a spool: \(held)")
        let start = Date()
        func recordsSinceStart() -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: records)) ?? []).compactMap { name in
                let path = records + "/" + name
                guard let info = try? FileManager.default.attributesOfItem(atPath: path),
                      let made = info[.modificationDate] as? Date, made > start else { return nil }
                return contents(path)
            }
        }
        #expect(eventually(within: 20) { recordsSinceStart().count >= 2 }, "fetches ran while the descriptors were open")
        for record in recordsSinceStart() {
            for line in record.split(separator: "\n") where line.contains(" -> ") {
                let target = line.components(separatedBy: " -> ").last ?? ""
                let ours = target.contains(dir.path) && !target.contains(records) && !target.hasSuffix("upload-pack.sh")
                let scratch = ["vost-spool", "vost-delta", "vost-writer", "tmp_obj", "tmp_vost", "vostmount-staging", "/dev/fuse"]
                #expect(!ours && !scratch.contains { target.contains($0) }, "inherited: \(line)")
            }
        }
    }
}
