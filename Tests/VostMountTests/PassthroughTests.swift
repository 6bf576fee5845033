import Foundation
import Testing
@testable import SnapshotFS
import TestSupport

/// LFS files read by the kernel straight from the store (FUSE passthrough), and the rule that
/// comes with it: an inode is read one way at a time. Registering a backing file needs
/// CAP_SYS_ADMIN, so these tests need root (as `scripts/test` runs them).
@Suite struct PassthroughTests {
    static func requireRoot() -> Bool {
        #expect(getuid() == 0, "FUSE passthrough needs CAP_SYS_ADMIN; run the tests as root")
        return getuid() == 0
    }

    static func backedOpens(_ mount: Mount) throws -> Int {
        try #require(statusObject(mount)["passthroughOpens"] as? Int)
    }

    /// Open files of the branch and of history read their objects through the kernel (the
    /// status counts them), by `read`, at offsets and through `mmap`, and the count drops
    /// back as they close. A read-only mount does the same.
    @Test(arguments: [[], ["--read-only"]])
    func lfsFilesAreReadStraightFromTheStore(arguments: [String]) throws {
        guard Self.requireRoot() else { return }
        try LFSTests.withMountedRepo("passthrough-read", arguments: arguments) { mount, repo, work in
            #expect(try statusObject(mount)["passthrough"] as? Bool == true)
            let tip = try LFSTests.lfsContent(work, "HEAD", "data/big.bin")
            let old = try LFSTests.lfsContent(work, "HEAD~1", "data/big.bin")
            let current = try #require(FileHandle(forReadingAtPath: mount.path("data/big.bin")))
            let previous = try #require(FileHandle(forReadingAtPath: mount.path("@~1/data/big.bin")))
            #expect(try Self.backedOpens(mount) == 2)
            #expect(current.readDataToEndOfFile() == tip)
            #expect(previous.readDataToEndOfFile() == old)
            let pieces = try python("""
            import mmap, os, sys
            with open(sys.argv[1], "rb") as f:
                m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
                print(m[4_000_000:4_000_016].hex(), os.pread(f.fileno(), 16, 123_457).hex())
            """, [mount.path("data/big.bin")])
            let hex = { (range: Range<Int>) in tip.subdata(in: range).map { String(format: "%02x", $0) }.joined() }
            #expect(pieces == "\(hex(4_000_000..<4_000_016)) \(hex(123_457..<123_473))\n")
            try current.close()
            try previous.close()
            // Releases reach the daemon after close returns.
            #expect(eventually(within: 5) { (try? Self.backedOpens(mount)) == 0 })
            #expect(contents(mount.path("notes.txt")) == "plain\n")
        }
    }

    /// While a file is read through its object, writing or truncating it is ETXTBSY (as for
    /// a running program); once the reader closes, both work, and the file stays in LFS.
    @Test func writingAFileWhileItIsReadThroughItsObjectIsTextFileBusy() throws {
        guard Self.requireRoot() else { return }
        try LFSTests.withMountedRepo("passthrough-busy") { mount, repo, work in
            let file = mount.path("data/big.bin")
            let reader = try #require(FileHandle(forReadingAtPath: file))
            for command in ["printf x >> '\(file)'", "truncate -s 0 '\(file)'"] {
                let (status, message) = try runFailing(["sh", "-c", command])
                #expect(status != 0 && message.contains("Text file busy"), "\(command): \(message)")
            }
            try run(["sh", "-c", "echo other > '\(mount.path("notes.txt"))'"])
            var expected = try LFSTests.lfsContent(work, "HEAD", "data/big.bin")
            #expect(reader.readDataToEndOfFile() == expected)
            try reader.close()
            try run(["sh", "-c", "printf more >> '\(file)' && sync '\(file)'"])
            expected.append(contentsOf: Array("more".utf8))
            #expect(FileManager.default.contents(atPath: file) == expected)
            #expect(try LFSTests.isPointer(repo, "data/big.bin"))
        }
    }

    /// A file open the ordinary way when its commit turns it into an LFS object keeps every
    /// open ordinary until it closes (the kernel would fail a mix with EIO); later opens read
    /// through the object.
    @Test func aFileOpenWhenItBecomesAnLFSObjectStaysReadableEveryWay() throws {
        guard Self.requireRoot() else { return }
        let dir = TempDir("passthrough-switch")
        let repo = dir.sub("repo.git")
        // A repository that uses LFS when it is mounted: only there does the mount keep
        // opens, which reading through an object needs (see "Caching" in namespace.md).
        do {
            let first = try Mount(repo, in: dir, arguments: ["--create"], name: "first")
            defer { first.unmount() }
            try "*.bin filter=lfs\n".write(toFile: first.path(".gitattributes"), atomically: false, encoding: .utf8)
            try run(["sync", first.point])
        }
        let mount = try Mount(repo, in: dir, arguments: [])
        defer { mount.unmount() }
        let file = mount.path("a.bin")
        try run(["sh", "-c", "head -c 2000000 /dev/urandom > '\(file)'"])
        let expected = try #require(FileManager.default.contents(atPath: file))
        let early = try #require(FileHandle(forReadingAtPath: file))
        try run(["sync", file])
        #expect(try LFSTests.isPointer(repo, "a.bin"))
        #expect(FileManager.default.contents(atPath: file) == expected)
        #expect(try Self.backedOpens(mount) == 0)
        #expect(early.readDataToEndOfFile() == expected)
        try early.close()
        let late = try #require(eventually(within: 5) { (try? Self.backedOpens(mount)) == 0 } ? FileHandle(forReadingAtPath: file) : nil)
        defer { try? late.close() }
        #expect(try Self.backedOpens(mount) == 1)
        #expect(late.readDataToEndOfFile() == expected)
    }

    /// Another writer changes a file while it is read through its object here: the change is
    /// a new node, so new opens read the new object (through the kernel too) while the old
    /// reader keeps the old content.
    @Test func anotherWritersChangeIsReadWhileTheOldObjectIsOpen() throws {
        guard Self.requireRoot() else { return }
        try LFSTests.withMountedRepo("passthrough-moved") { mount, repo, work in
            let file = mount.path("data/big.bin")
            let old = try LFSTests.lfsContent(work, "HEAD", "data/big.bin")
            let reader = try #require(FileHandle(forReadingAtPath: file))
            defer { try? reader.close() }
            try run(["sh", "-c", """
                head -c 4000000 /dev/urandom > data/big.bin && git commit -q -am three && \
                git lfs push --all 'file://\(repo)' && git push -q --no-verify '\(repo)' main
                """], cwd: work, env: gitEnv)
            let new = try LFSTests.lfsContent(work, "HEAD", "data/big.bin")
            #expect(eventually(within: 5) { FileManager.default.contents(atPath: file) == new })
            let second = try #require(FileHandle(forReadingAtPath: file))
            defer { try? second.close() }
            #expect(try Self.backedOpens(mount) == 2)
            #expect(second.readDataToEndOfFile() == new)
            #expect(reader.readDataToEndOfFile() == old)
        }
    }

    /// Readers and appenders at once on one LFS file, for a few seconds: the opens switch
    /// between the two ways as they come and go, and none fails but with ETXTBSY (the kernel
    /// would fail a wrong mix with EIO); the content only ever grows by what was appended.
    @Test func readersAndWritersTogetherNeverSeeAnIOError() throws {
        guard Self.requireRoot() else { return }
        let dir = TempDir("passthrough-mix")
        let repo = dir.sub("repo.git")
        let mount = try Mount(repo, in: dir, arguments: ["--create", "--commit-delay", "0.2"])
        defer { mount.unmount() }
        let file = mount.path("a.bin")
        try run(["sh", "-c", "printf '*.bin filter=lfs\\n' > '\(mount.path(".gitattributes"))' && head -c 3000000 /dev/urandom > '\(file)' && sync '\(file)'"])
        #expect(try LFSTests.isPointer(repo, "a.bin"))
        let report = try python("""
        import errno, os, random, sys, threading, time
        path = sys.argv[1]
        original = open(path, "rb").read()
        lock = threading.Lock()
        appended, errors, changed, backed = [0], {}, [0], [0]
        def worker(seed):
            r, end = random.Random(seed), time.time() + 4
            while time.time() < end:
                try:
                    if r.random() < 0.1:
                        n = r.randint(1, 100)
                        with open(path, "ab") as f:
                            f.write(b"x" * n)
                        with lock:
                            appended[0] += n
                    else:
                        with open(path, "rb") as f:
                            if f.read(len(original)) != original:
                                with lock:
                                    changed[0] += 1
                except OSError as e:
                    with lock:
                        errors[errno.errorcode.get(e.errno, e.errno)] = errors.get(errno.errorcode.get(e.errno, e.errno), 0) + 1
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        os.fsync(os.open(path, os.O_RDONLY))
        print(len(original) + appended[0], os.stat(path).st_size, changed[0], sorted(e for e in errors if e != "ETXTBSY"))
        """, [file])
        let fields = report.split(separator: " ", maxSplits: 3).map(String.init)
        #expect(fields.count == 4 && fields[0] == fields[1], "expected size, size: \(report)")
        #expect(fields.count == 4 && fields[2] == "0", "reads of a changed beginning: \(report)")
        #expect(fields.last == "[]\n", "errors other than ETXTBSY: \(report)")
        #expect(try LFSTests.isPointer(repo, "a.bin"))
    }

    /// `--no-passthrough` (`-o nopassthrough`): every read goes through the mount, and
    /// nothing is refused.
    @Test(arguments: [["--no-passthrough"], ["-o", "nopassthrough"]])
    func withoutPassthroughReadsGoThroughTheMount(arguments: [String]) throws {
        try LFSTests.withMountedRepo("passthrough-off", arguments: arguments) { mount, repo, work in
            #expect(try statusObject(mount)["passthrough"] as? Bool == false)
            let reader = try #require(FileHandle(forReadingAtPath: mount.path("data/big.bin")))
            defer { try? reader.close() }
            #expect(try Self.backedOpens(mount) == 0)
            try run(["sh", "-c", "printf more >> '\(mount.path("data/big.bin"))'"])
            var expected = try LFSTests.lfsContent(work, "HEAD", "data/big.bin")
            expected.append(contentsOf: Array("more".utf8))
            #expect(FileManager.default.contents(atPath: mount.path("data/big.bin")) == expected)
        }
    }
}
