import Foundation
import Testing
@testable import SnapshotFS
import TestSupport

/// `kill -9` of a mount while it fetches, merges or pushes: every repository stays valid,
/// nothing whose `fsync` returned is lost, and the next mount carries on.
@Suite struct RemoteKillTests {
    @Test func killDashNineDuringSyncLosesNothingAndTheNextMountCarriesOn() throws {
        let cluster = try Cluster("remote-kill", seed: ["shared.txt": "base\n"])
        defer { cluster.unmountAll() }
        var written: [String: String] = [:]
        for round in 0..<6 {
            let victim = round % 2
            // Both sides write, so the victim has something to push and something to merge.
            for i in 0..<2 {
                let name = "r\(round)-m\(i)"
                try writeAndSync(cluster.path(i, name), "\(name)\n")
                written[name] = "\(name)\n"
                try writeAndSync(cluster.path(i, "shared.txt"), "round \(round) on \(i)\n")
            }
            usleep(UInt32.random(in: 0...400_000))
            let mount = cluster.mounts[victim]
            kill(try #require(mount.daemon), SIGKILL)
            #expect(eventually(within: 10) { !isRunning(mount.daemon!) })
            mount.unmount()
            try expectFsckClean(cluster.clones[victim])
            try Self.expectFsckCleanWhilePushedTo(cluster.server)
            cluster.mounts[victim] = try Mount(cluster.clones[victim], in: cluster.dir,
                                               arguments: ["--remote", "origin", "--fetch-interval", "1",
                                                           "--log", cluster.dir.sub("m\(victim).log")],
                                               name: "m\(victim)-\(round)")
        }
        cluster.expectConverged(within: 60)
        let files = try fileContents(cluster.mounts[0].point)
        for (name, text) in written { #expect(files[name] == text, "\(name) is in the converged tree") }
        // Every version of shared.txt is in the tree or in history.
        // (Every commit's diff against every parent: a displaced version may have gone to a
        // conflict copy, and path-limited logs simplify merges away.)
        let history = try git(cluster.server, "log", "--all", "--full-history", "-m", "-p", "--format=")
        for round in 0..<6 {
            for i in 0..<2 { #expect(history.contains("round \(round) on \(i)")) }
        }
        cluster.unmountAll()
        try cluster.expectAllClean()
    }

    /// fsck of a server that the other mount (and the killed one's orphaned `git push`) may
    /// be pushing to at that moment: git's fsck can then see a ref before the objects its
    /// push is still moving in, a failure that the next fsck does not have. Damage stays:
    /// three failures in a row, 2 s apart, are recorded.
    static func expectFsckCleanWhilePushedTo(_ repo: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        var last = ""
        for attempt in 0..<3 {
            if attempt > 0 { Thread.sleep(forTimeInterval: 2) }  // pushes in flight end: not a sync point, a retry's spacing
            do {
                let output = try run(["git", "--git-dir=\(repo)", "fsck", "--full", "--strict", "--no-dangling"], env: gitEnv)
                if !output.contains("error"), !output.contains("warning") { return }
                last = output
            } catch let failure as CommandFailed {
                last = "exit \(failure.status): \(failure.output)"
            }
        }
        Issue.record("fsck of \(repo) failed three times: \(last)", sourceLocation: sourceLocation)
    }
}

/// The seeded model test, on two machines: random operations on two mounts of one server
/// while they sync in the background. Each side owns a folder only it changes (its files
/// there must end exactly as its model says, on both mounts), and both write the same
/// shared files (every version written must be in the final tree or in history).
@Suite struct RemoteModelTests {
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    @Test(arguments: [11, 12] as [UInt64]) func twoMountsDoingRandomOperationsConverge(seed: UInt64) throws {
        let shared = (0..<3).map { "shared/s\($0).txt" }
        let cluster = try Cluster("remote-model", seed: Dictionary(uniqueKeysWithValues: shared.map { ($0, "") }))
        defer { cluster.unmountAll() }
        var rng = Generator(state: seed)
        var model: [[String: String]] = [[:], [:]]
        var versions: [String] = []
        for side in 0..<2 { try FileManager.default.createDirectory(atPath: cluster.path(side, "side\(side)"), withIntermediateDirectories: true) }
        for step in 0..<250 {
            let side = Int.random(in: 0..<2, using: &rng)
            let token = "s\(seed)-m\(side)-\(step)"
            let own = model[side].keys.sorted()
            switch Int.random(in: 0..<10, using: &rng) {
            case 0, 1:
                let path = "side\(side)/" + (Bool.random(using: &rng) ? "f\(step)" : "d\(step % 4)/f\(step)")
                try FileManager.default.createDirectory(atPath: (cluster.path(side, path) as NSString).deletingLastPathComponent,
                                                        withIntermediateDirectories: true)
                try createFile(cluster.path(side, path), Data("\(token)\n".utf8))
                model[side][path] = "\(token)\n"
            case 2 where !own.isEmpty:
                let path = own.randomElement(using: &rng)!
                try createFile(cluster.path(side, path), Data("\(token)\n".utf8))
                model[side][path] = "\(token)\n"
            case 3 where !own.isEmpty:
                let path = own.randomElement(using: &rng)!
                #expect(unlink(cluster.path(side, path)) == 0, "unlink \(path)")
                model[side][path] = nil
            case 4 where !own.isEmpty:
                let path = own.randomElement(using: &rng)!
                let target = "side\(side)/moved\(step)"
                #expect(rename(cluster.path(side, path), cluster.path(side, target)) == 0, "rename \(path)")
                model[side][target] = model[side][path]
                model[side][path] = nil
            case 5, 6, 7:
                // Appending a line to a shared file: both sides do, so merges are line merges
                // when clean and conflict copies when not.
                let path = shared.randomElement(using: &rng)!
                let handle = try #require(FileHandle(forWritingAtPath: cluster.path(side, path)))
                try handle.seekToEnd()
                try handle.write(contentsOf: Data("\(token)\n".utf8))
                try handle.close()
                versions.append(token)
            default:
                let target = own.first ?? "side\(side)"
                let fd = open(cluster.path(side, target), O_RDONLY)
                #expect(fd >= 0 && fsync(fd) == 0, "fsync on \(side)")
                close(fd)
            }
        }
        for side in 0..<2 {
            let fd = open(cluster.path(side, "side\(side)"), O_RDONLY)
            #expect(fsync(fd) == 0)
            close(fd)
        }
        cluster.expectConverged(within: 60)
        for mount in 0..<2 {
            let files = try fileContents(cluster.mounts[mount].point)
            for side in 0..<2 {
                let owned = files.filter { $0.key.hasPrefix("side\(side)/") }
                #expect(owned == model[side], "side \(side)'s folder as seen on mount \(mount)")
            }
            #expect(!files.values.contains { $0.contains("<<<<<<<") })
        }
        let history = try git(cluster.server, "log", "--all", "--full-history", "-m", "-p", "--format=")
        for token in versions { #expect(history.contains("+\(token)"), "\(token) is in history") }
        cluster.unmountAll()
        try cluster.expectAllClean()
    }
}
