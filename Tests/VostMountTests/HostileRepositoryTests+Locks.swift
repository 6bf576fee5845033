import Foundation
import Testing
@testable import SnapshotFS
import TestSupport

/// The lock and staging folder of a hostile repository.
extension HostileRepositoryTests {
    /// vost.lock and the staging folder made symlinks: never followed.
    @Test func vostLockAndStagingAreNeverFollowed() throws {
        let dir = TempDir("lock-link")
        let (repo, _, _) = try makeHistoryRepo(dir)
        let target = dir.sub("precious")
        try createFile(target, Data("precious\n".utf8))
        try? FileManager.default.removeItem(atPath: repo + "/vost.lock")
        try FileManager.default.createSymbolicLink(atPath: repo + "/vost.lock", withDestinationPath: target)
        let mount = try Mount(repo, in: dir, arguments: ["--commit-delay", "600"])
        defer { mount.unmount() }
        try sh("echo x > x.txt", in: mount.point)
        let (_, message) = try runFailing(["sync", mount.path("x.txt")])
        #expect(message.contains("error"), "\(message)")
        #expect((contents(repo + "/vostmount.log") ?? "").contains("vost.lock"), "the log names it")
        #expect(contents(target) == "precious\n")
        mount.unmount()
        try FileManager.default.removeItem(atPath: repo + "/vost.lock")

        try? FileManager.default.removeItem(atPath: repo + "/vostmount-staging")
        try FileManager.default.createDirectory(atPath: dir.sub("elsewhere"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: repo + "/vostmount-staging", withDestinationPath: dir.sub("elsewhere"))
        let point = dir.sub("m2")
        try FileManager.default.createDirectory(atPath: point, withIntermediateDirectories: true)
        let (status, refused) = try runFailing([try vostmountBinary(), repo, point])
        defer { if isMounted(point) { _ = try? run(["fusermount3", "-u", "-z", point]) } }
        #expect(status != 0 && refused.contains("staging") && refused.split(separator: "\n").count == 1, "\(refused)")
        #expect(!isMounted(point))
    }
}
