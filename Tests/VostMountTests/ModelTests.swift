import Foundation
import Testing
@testable import SnapshotFS
import TestSupport

/// A randomized model test: seeded sequences of file operations applied to the mount and to
/// a plain directory, which must agree on every result (success or errno) and on the whole
/// tree as they go, after a remount, and in `git archive` of the branch.
@Suite(.serialized) struct ModelTests {
    /// The driver: one Python process doing each operation on both trees.
    static let driver = #"""
    import errno, os, random, stat, sys
    seed, steps, mount, native = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    rng = random.Random(seed)
    names = ['a', 'b', 'c', 'dir', 'sub', 'x y', 'caf\xe9', '.hidden']

    def paths(root):
        out = []
        for base, dirs, files in os.walk(root):
            rel = os.path.relpath(base, root)
            for n in dirs + files:
                out.append(os.path.normpath(os.path.join(rel, n)))
        return sorted(out)

    def snapshot(root):
        state = {}
        for p in paths(root):
            full = os.path.join(root, p)
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                state[p] = ('link', os.readlink(full))
            elif stat.S_ISDIR(st.st_mode):
                state[p] = ('dir',)
            else:
                with open(full, 'rb') as f:
                    state[p] = ('file', bool(st.st_mode & 0o100), st.st_size, f.read())
        return state

    def pick(root, kind=None):
        existing = [p for p in paths(root) if kind is None or
                    (kind == 'dir') == (os.path.isdir(os.path.join(root, p)) and not os.path.islink(os.path.join(root, p)))]
        return rng.choice(existing) if existing and rng.random() < 0.8 else None

    def new_path(root):
        dirs = ['.'] + [p for p in paths(root) if os.path.isdir(os.path.join(root, p)) and not os.path.islink(os.path.join(root, p))]
        return os.path.normpath(os.path.join(rng.choice(dirs), rng.choice(names)))

    def data():
        size = rng.choice([0, 1, 7, 100, 4096, 70000, 300000])
        return bytes(rng.getrandbits(8) for _ in range(min(size, 64))) * (size // 64 + 1)

    def operation():
        kind = rng.choice(['write', 'write', 'append', 'pwrite', 'truncate', 'unlink', 'mkdir', 'rmdir',
                           'rename', 'rename', 'symlink', 'chmod', 'fsync', 'exchange'])
        some = pick(native)
        target = new_path(native)
        if kind == 'write': return kind, (some if some and rng.random() < 0.5 else target, data())
        if kind == 'append': return kind, (some or target, data())
        if kind == 'pwrite': return kind, (some or target, rng.choice([0, 3, 5000, 100000]), data()[:rng.choice([1, 10, 9000])])
        if kind == 'truncate': return kind, (some or target, rng.choice([0, 1, 10, 70000, 200000]))
        if kind in ('unlink', 'rmdir', 'chmod'): return kind, (some or target, rng.random() < 0.5)
        if kind == 'mkdir': return kind, (target,)
        if kind == 'rename': return kind, (some or target, (pick(native) or target) if rng.random() < 0.3 else target)
        if kind == 'symlink': return kind, (target, rng.choice(names))
        if kind == 'exchange': return kind, (some or target, pick(native) or target)
        return kind, (some or '.',)

    def apply(root, kind, args):
        j = lambda p: os.path.join(root, p)
        try:
            if kind == 'write':
                with open(j(args[0]), 'wb') as f: f.write(args[1])
            elif kind == 'append':
                with open(j(args[0]), 'ab') as f: f.write(args[1])
            elif kind == 'pwrite':
                fd = os.open(j(args[0]), os.O_WRONLY | os.O_CREAT, 0o644)
                try: os.pwrite(fd, args[2], args[1])
                finally: os.close(fd)
            elif kind == 'truncate': os.truncate(j(args[0]), args[1])
            elif kind == 'unlink': os.unlink(j(args[0]))
            elif kind == 'rmdir': os.rmdir(j(args[0]))
            elif kind == 'mkdir': os.mkdir(j(args[0]))
            elif kind == 'rename': os.rename(j(args[0]), j(args[1]))
            elif kind == 'symlink': os.symlink(args[1], j(args[0]))
            elif kind == 'chmod': os.chmod(j(args[0]), 0o755 if args[1] else 0o644, follow_symlinks=False)
            elif kind == 'fsync':
                fd = os.open(j(args[0]), os.O_RDONLY | os.O_NOFOLLOW)
                try: os.fsync(fd)
                finally: os.close(fd)
            elif kind == 'exchange':
                import ctypes
                libc = ctypes.CDLL(None, use_errno=True)
                if libc.renameat2(-100, os.fsencode(j(args[0])), -100, os.fsencode(j(args[1])), 2) != 0:
                    e = ctypes.get_errno(); raise OSError(e, os.strerror(e))
            return 'ok'
        except OSError as e:
            return errno.errorcode.get(e.errno, str(e.errno))

    for step in range(steps):
        kind, args = operation()
        if kind == 'chmod' and os.path.islink(os.path.join(native, args[0])):
            continue  # Linux cannot chmod a symlink itself; nothing to compare
        theirs = apply(native, kind, args)
        ours = apply(mount, kind, args)
        if theirs != ours:
            print(f'step {step}: {kind} {args[:2] if kind != "write" else args[0]}: native {theirs}, mount {ours}')
            sys.exit(0)
        if step % 25 == 24 or step == steps - 1:
            a, b = snapshot(native), snapshot(mount)
            if a != b:
                diff = sorted(set(a.items()) ^ set(b.items()))[:4]
                print(f'step {step}: trees differ: {[(d[0], d[1][:3]) for d in diff]}')
                sys.exit(0)
    print('ok')
    """#

    @Test(arguments: [1, 2, 3, 4])
    func randomOperationsAgreeWithADisk(seed: Int) throws {
        try agree(seed: seed, arguments: [])
    }

    /// The same in the kernel's no-open mode (`--no-open`), where writes come with no handle.
    @Test(arguments: [5, 6])
    func randomOperationsAgreeWithADiskWithNoOpens(seed: Int) throws {
        try agree(seed: seed, arguments: ["--no-open"])
    }

    private func agree(seed: Int, arguments: [String]) throws {
        let dir = TempDir("model")
        let (repo, _, _) = try makeHistoryRepo(dir)
        let native = dir.sub("native")
        try archive(repo, into: native)
        let mount = try Mount(repo, in: dir, arguments: ["--commit-delay", "0.2"] + arguments)
        defer { mount.unmount() }
        let result = try python(Self.driver, [String(seed), "400", mount.point, native])
        #expect(result == "ok\n", "seed \(seed): \(result)")
        mount.unmount()
        try expectFsckClean(repo)
        let fromGit = dir.sub("from-git")
        try archive(repo, into: fromGit)
        try expectSameTree(try withoutEmptyDirectories(native, in: dir), fromGit)
        let again = try Mount(repo, in: dir, name: "again")
        defer { again.unmount() }
        try expectSameTree(native, again.point)
    }
}
