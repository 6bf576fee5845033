import Foundation
import Testing
@testable import SnapshotFS
import TestSupport

/// The workspace in-process: the mount's batch without FUSE.
@Suite struct WorkspaceTests {
    func write(_ ws: Workspace, _ node: WorkNode, _ text: String, at offset: Int = 0) throws {
        try Array(text.utf8).withUnsafeBytes { try ws.write(node, $0, at: offset) }
    }

    @Test func changesInADirectoryCommittedBeforeArePendingAgain() throws {
        let (_, store) = try makeStore()
        let ws = try Workspace(store: store, branch: "main")
        try ws.prepareStaging()
        let dir = try ws.makeDirectory(in: ws.root, Array("c".utf8))
        let file = try ws.create(in: dir, Array("c".utf8))
        try write(ws, file, "old\n")
        #expect(try ws.commit()?.message == "+ c/c")
        #expect(!ws.hasPending)
        try ws.truncate(file, to: 0)
        try write(ws, file, "new\n")
        #expect(ws.hasPending)
        let snap = try #require(try ws.commit())
        #expect(try snap.readText("c/c") == "new\n")
    }

    @Test func renamesKeepNodesAndRefuseWhatPOSIXRefuses() throws {
        let (_, store) = try makeStore()
        let ws = try Workspace(store: store, branch: "main")
        try ws.prepareStaging()
        let a = try ws.makeDirectory(in: ws.root, Array("a".utf8))
        let inner = try ws.makeDirectory(in: a, Array("inner".utf8))
        let file = try ws.create(in: a, Array("f".utf8))
        try write(ws, file, "data")
        #expect(throws: SnapshotError.self) { try ws.rename(from: ws.root, Array("a".utf8), to: inner, Array("x".utf8)) }
        #expect(throws: SnapshotError.notEmpty("a")) { try ws.remove(in: ws.root, Array("a".utf8), directory: true) }
        #expect(throws: SnapshotError.notPermitted(".Git is reserved by Git")) { try ws.create(in: a, Array(".Git".utf8)) }
        try ws.rename(from: a, Array("f".utf8), to: ws.root, Array("g".utf8))
        #expect(try ws.child(ws.root, Array("g".utf8)) === file, "a renamed file is the same node")
        try ws.rename(from: ws.root, Array("a".utf8), to: ws.root, Array("b".utf8))
        let snap = try #require(try ws.commit())
        #expect(try snap.readText("g") == "data")
        #expect(try snap.isDirectory("b/inner"))
        #expect(try !snap.exists("a"))
    }

    @Test func aMovedTipIsMergedAndShown() throws {
        let (_, store) = try makeStore()
        let ws = try Workspace(store: store, branch: "main")
        try ws.prepareStaging()
        try write(ws, try ws.create(in: ws.root, Array("ours".utf8)), "ours")
        let theirs = try store.branches["main"].write("theirs", bytes("theirs"))
        let merged = try #require(try ws.commit())
        #expect(try merged.parent?.commitID == theirs.commitID)
        #expect(try merged.readText("ours") == "ours")
        #expect(try merged.readText("theirs") == "theirs")
        #expect(try ws.child(ws.root, Array("theirs".utf8)) != nil, "the workspace shows the other writer's file")
        // Clean, it follows the branch.
        _ = try store.branches["main"].write("later", bytes("later"))
        #expect(try ws.refresh())
        #expect(try ws.child(ws.root, Array("later".utf8)) != nil)
    }

    @Test func largeWritesAreStagedOnDiskAndStreamedIntoABlob() throws {
        let (_, store) = try makeStore()
        let ws = try Workspace(store: store, branch: "main")
        try ws.prepareStaging()
        let file = try ws.create(in: ws.root, Array("big".utf8))
        let chunk = [UInt8](repeating: 7, count: 1 << 20)
        for i in 0..<3 { try chunk.withUnsafeBytes { try ws.write(file, $0, at: i << 20) } }
        try Array("end".utf8).withUnsafeBytes { try ws.write(file, $0, at: (4 << 20) + 5) }  // leaves a hole
        #expect(file.isStaged)
        #expect(try ws.info(file).size == (4 << 20) + 8)
        let snap = try #require(try ws.commit())
        #expect(try snap.size("big") == (4 << 20) + 8)
        #expect(try snap.read("big", offset: 3 << 20, count: 4) == [0, 0, 0, 0])
        #expect(try snap.read("big", offset: (4 << 20) + 5, count: 3) == Array("end".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: store.path + "/vostmount-staging").isEmpty)
    }

    /// Another writer's tree that cannot be read yet (here: its subtree is not in the store)
    /// is not half taken in: before, the directory kept its old entries while the root
    /// recorded the new tree, and the next commit wrote the old subtree back, undoing the
    /// other writer's change.
    @Test func aTreeThatCannotBeReadIsNotHalfTakenIn() throws {
        let (dir, store) = try makeStore()
        _ = try store.branches["main"].apply(writes: ["d/a": .data(bytes("a\n")), "top": .data(bytes("top\n"))], message: "base")
        let ws = try Workspace(store: store, branch: "main")
        try ws.prepareStaging()
        let d = try #require(try ws.child(ws.root, Array("d".utf8)))
        _ = try ws.children(d)  // looked into, as a listing does
        // The other writer's d: a tree made elsewhere, so that this store lacks it for now.
        let other = dir.sub("other.git")
        try run(["git", "init", "-q", "--bare", other])
        let a2 = try run(["git", "--git-dir=\(store.path)", "hash-object", "-w", "--stdin"], stdin: Data("a2\n".utf8))
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let listing = "100644 blob \(a2)\ta\n"
        let newD = try run(["git", "--git-dir=\(other)", "mktree", "--missing"], stdin: Data(listing.utf8)).trimmingCharacters(in: .whitespacesAndNewlines)
        let top = try git(store.path, "rev-parse", "main:top").trimmingCharacters(in: .whitespacesAndNewlines)
        let root = try run(["git", "--git-dir=\(store.path)", "mktree", "--missing"],
                           stdin: Data("040000 tree \(newD)\td\n100644 blob \(top)\ttop\n".utf8)).trimmingCharacters(in: .whitespacesAndNewlines)
        let parent = try git(store.path, "rev-parse", "main").trimmingCharacters(in: .whitespacesAndNewlines)
        let commit = try run(["git", "--git-dir=\(store.path)", "commit-tree", root, "-p", parent, "-m", "other"], env: gitEnv)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        try git(store.path, "update-ref", "refs/heads/main", commit, parent)
        #expect(throws: (any Error).self) { try ws.refresh() }
        #expect(ws.base.commitHash == parent, "nothing was taken in")
        // The subtree arrives (a fetch completes), and this mount commits a change of its own.
        _ = try run(["git", "--git-dir=\(store.path)", "mktree"], stdin: Data(listing.utf8))
        let mine = try ws.create(in: ws.root, Array("mine".utf8))
        try write(ws, mine, "mine\n")
        let snap = try #require(try ws.commit())
        #expect(try snap.readText("d/a") == "a2\n", "the other writer's change stands")
        #expect(try snap.readText("mine") == "mine\n")
        #expect(try git(store.path, "rev-parse", "main~1").trimmingCharacters(in: .whitespacesAndNewlines) == commit)
    }
}

