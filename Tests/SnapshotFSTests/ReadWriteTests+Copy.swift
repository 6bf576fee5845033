import Foundation
import Testing
@testable import SnapshotFS
import TestSupport

/// Copies between disk and snapshots, and between refs.
extension WriteTests {
    @Test func copyAndSyncBetweenDiskAndSnapshot() throws {
        let (dir, store) = try makeStore()
        let src = dir.sub("src")
        try FileManager.default.createDirectory(atPath: src + "/sub/empty", withIntermediateDirectories: true)
        try createFile(src + "/a.txt", Data("a".utf8))
        try createFile(src + "/sub/x.sh", Data("x".utf8), mode: 0o755)
        try FileManager.default.createSymbolicLink(atPath: src + "/ln", withDestinationPath: "a.txt")
        var snap = try store.branches["main"].copyIn([src], to: "backup")
        #expect(try snap.read("backup/src/a.txt") == bytes("a"))
        #expect(try snap.fileType("backup/src/sub/x.sh") == .executable)
        #expect(try snap.readLink("backup/src/ln") == "a.txt")
        #expect(try snap.isDirectory("backup/src/sub/empty"))
        snap = try snap.copyIn([src + "/"], to: "flat")
        #expect(try snap.list("flat") == ["a.txt", "ln", "sub"])

        // sync in: deletes what the source lacks, counts only real changes.
        try FileManager.default.removeItem(atPath: src + "/a.txt")
        try createFile(src + "/new.txt", Data("n".utf8))
        snap = try snap.syncIn(src, to: "flat")
        #expect(snap.changes?.added.map(\.path.string) == ["flat/new.txt"])
        #expect(snap.changes?.deleted.map(\.path.string) == ["flat/a.txt"])
        #expect(snap.changes?.updated.isEmpty == true)

        // copy out and sync out.
        let out = dir.sub("out")
        try snap.copyOut(["flat"], to: out)
        #expect(FileManager.default.contents(atPath: out + "/flat/new.txt") == Data("n".utf8))
        #expect(FileManager.default.isExecutableFile(atPath: out + "/flat/sub/x.sh"))
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: out + "/flat/ln") == "a.txt")
        try createFile(out + "/flat/stray", Data())
        try snap.syncOut("flat", to: out + "/flat")
        #expect(!FileManager.default.fileExists(atPath: out + "/flat/stray"))
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: out + "/flat")) == ["new.txt", "ln", "sub"])
        try expectFsckClean(dir.sub("repo.git"))
    }

    @Test func copyFromAnotherRefReusesObjects() throws {
        let (_, store) = try makeStore()
        let main = try store.branches["main"].apply(writes: ["config/a": .data(bytes("1")), "config/b": .data(bytes("2"))])
        try store.branches.set("dev", to: try store.branches["main"].back(1))
        var dev = try store.branches["dev"]
        dev = try dev.copy(from: main, "config")
        #expect(try dev.objectID("config") == main.objectID("config"))
        dev = try dev.copy(from: main, "config", to: "imported", contentsOnly: true)
        #expect(try dev.list("imported") == ["a", "b"])
        dev = try dev.copy(from: main, "config", to: "imported/config")
        #expect(try dev.read("imported/config/b") == bytes("2"))
    }
}
