import Foundation
import Testing
@testable import SnapshotFS
import TestSupport

@Suite struct StoreTests {
    @Test func createMakesABareRepositoryWithAnInitialCommit() throws {
        let (dir, store) = try makeStore()
        let main = try store.branches["main"]
        #expect(main.message == "Initialize main")
        #expect(main.treeID == .emptyTree)
        #expect(main.authorName == "vost" && main.authorEmail == "vost@localhost")
        #expect(main.commit.parents.isEmpty)
        #expect(try git(dir.sub("repo.git"), "symbolic-ref", "HEAD") == "refs/heads/main\n")
        #expect(try git(dir.sub("repo.git"), "config", "--bool", "core.bare") == "true\n")
        #expect(try git(dir.sub("repo.git"), "config", "--bool", "core.logAllRefUpdates") == "true\n")
        #expect(try git(dir.sub("repo.git"), "log", "--format=%s", "main") == "Initialize main\n")
        try expectFsckClean(dir.sub("repo.git"))
    }

    @Test func openingExistingKeepsItAndCustomIdentityIsUsed() throws {
        let dir = TempDir()
        _ = try Store.open(dir.sub("r.git"), branch: "trunk")
        let store = try Store.open(dir.sub("r.git"), author: "Alice", email: "alice@example.com")
        #expect(try store.branches.currentName == "trunk")
        let next = try store.branches["trunk"].write("a", bytes("x"))
        #expect(next.authorName == "Alice" && next.authorEmail == "alice@example.com")
        #expect(try git(dir.sub("r.git"), "log", "-1", "--format=%an <%ae>|%cn <%ce>", "trunk") == "Alice <alice@example.com>|Alice <alice@example.com>\n")
    }

    @Test func missingOrNonRepositoryPathsAreClearErrors() throws {
        let dir = TempDir()
        #expect(throws: SnapshotError.notFound("no repository at \(dir.sub("nope.git"))")) {
            try Store.open(dir.sub("nope.git"), create: false)
        }
        #expect(!FileManager.default.fileExists(atPath: dir.sub("nope.git")))
        try FileManager.default.createDirectory(atPath: dir.sub("plain/stuff"), withIntermediateDirectories: true)
        #expect(throws: SnapshotError.invalidArgument("\(dir.sub("plain")) is not a Git repository")) {
            try Store.open(dir.sub("plain"))
        }
        try createFile(dir.sub("file"), Data("x".utf8))
        #expect(throws: SnapshotError.invalidArgument("\(dir.sub("file")) is not a Git repository")) {
            try Store.open(dir.sub("file"), create: false)
        }
    }
}

@Suite struct RefTests {
    @Test func branchesBehaveLikeADictionary() throws {
        let (_, store) = try makeStore()
        let main = try store.branches["main"].write("a.txt", bytes("a"))
        try store.branches.set("dev", to: main)
        #expect(try store.branches.contains("dev"))
        #expect(try store.branches.names == ["dev", "main"])
        #expect(try store.branches.count == 2)
        #expect(try store.branches["dev"].commitID == main.commitID)
        #expect(try store.branches["dev"].writable)
        try store.branches.delete("dev")
        #expect(try !store.branches.contains("dev"))
        #expect(throws: SnapshotError.notFound("branch dev")) { try store.branches["dev"] }
        #expect(throws: SnapshotError.notFound("refs/heads/dev")) { try store.branches.delete("dev") }
        #expect(throws: (any Error).self) { try store.branches.set("bad..name", to: main) }
    }

    @Test func tagsAreReadOnlyAndDoNotMove() throws {
        let (_, store) = try makeStore()
        let main = try store.branches["main"].write("a.txt", bytes("a"))
        try store.tags.set("v1", to: main)
        let tag = try store.tags["v1"]
        #expect(!tag.writable && tag.refName == "v1")
        #expect(throws: SnapshotError.alreadyExists("tag v1")) { try store.tags.set("v1", to: main) }
        #expect(throws: SnapshotError.readOnly("v1 is not a branch")) { try tag.write("b", bytes("b")) }
        try store.tags.delete("v1")
        #expect(try store.tags.names.isEmpty)
    }

    @Test func currentBranchFollowsHead() throws {
        let (dir, store) = try makeStore()
        try store.branches.set("dev", to: try store.branches["main"])
        #expect(try store.branches.currentName == "main")
        try store.branches.setCurrent("dev")
        #expect(try store.branches.currentName == "dev")
        #expect(try git(dir.sub("repo.git"), "symbolic-ref", "HEAD") == "refs/heads/dev\n")
        #expect(throws: SnapshotError.notFound("branch nope")) { try store.branches.setCurrent("nope") }
    }

    @Test func reflogRecordsEveryMove() throws {
        let (_, store) = try makeStore()
        let one = try store.branches["main"].write("a", bytes("1"))
        let two = try one.write("a", bytes("2"))
        let back = try two.undo()
        let log = try store.branches.reflog("main")
        #expect(log.map(\.message) == ["undo: move back", "commit: ~ a", "commit: + a", "commit (initial): Initialize main"])
        #expect(log[0].old == two.commitID && log[0].new == one.commitID)
        #expect(back.commitID == one.commitID)
        #expect(log[3].old == .zero)
        #expect(log[0].committerName == "vost")
    }
}
