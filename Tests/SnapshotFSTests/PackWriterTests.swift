import Foundation
import Testing
@testable import SnapshotFS
import TestSupport

@Suite struct PackWriterTests {
    @Test func packAndIndexAreWhatGitWrites() throws {
        let dir = TempDir("pack")
        try run(["git", "init", "-q", "--bare", dir.sub("r.git")])
        let writer = PackWriter()
        var ids: [ObjectID] = []
        for i in 0..<300 { ids.append(writer.add(.blob, Array("object \(i)\n".utf8))) }
        #expect(ids[0].bytes[0] == ids[0].withBytes { $0[0] })
        try writer.flush(objectsDirectory: dir.sub("r.git/objects"))
        let packs = try FileManager.default.contentsOfDirectory(atPath: dir.sub("r.git/objects/pack"))
        let pack = try #require(packs.first { $0.hasSuffix(".pack") })
        let ours = try Data(contentsOf: URL(fileURLWithPath: dir.sub("r.git/objects/pack/" + pack.replacingOccurrences(of: ".pack", with: ".idx"))))
        try run(["git", "index-pack", "-o", dir.sub("theirs.idx"), dir.sub("r.git/objects/pack/" + pack)])
        let theirs = try Data(contentsOf: URL(fileURLWithPath: dir.sub("theirs.idx")))
        #expect(ours == theirs)
        let expected = try run(["git", "hash-object", "--stdin"], stdin: Data("object 7\n".utf8))
        #expect(ids[7].hex + "\n" == expected)
        #expect(try run(["git", "--git-dir=\(dir.sub("r.git"))", "cat-file", "-p", ids[7].hex]) == "object 7\n")
    }
}
