import Foundation
import Testing
@testable import SnapshotFS
import TestSupport

/// The programs people point at a disk, run on a native directory and on the mount; the
/// two trees must end the same, before the commit, after it, and after a remount.
@Suite(.serialized) struct WriteProgramTests {
    /// Everything the issue lists, as one script run in both places. `$WORK` holds the
    /// inputs (source trees, a tarball, a zip), made once outside both.
    static let script = #"""
    cp -r "$WORK/src" copied
    cp -a "$WORK/src" copied-a
    rsync -a "$WORK/src/" synced/
    rsync -a "$WORK/src2/" synced/
    rsync -a --inplace "$WORK/src/" synced-inplace/
    rsync -a --inplace "$WORK/src2/" synced-inplace/
    mkdir untarred && tar -xf "$WORK/tree.tar" -C untarred
    mkdir unzipped && (cd unzipped && unzip -q "$WORK/tree.zip")
    mv copied/a moved-dir
    mv README.md README.txt
    mv "with space" without-space
    rm -rf copied-a
    sed -i 's/v2/v3/' src/app.py
    sed -i 's/file/FILE/' moved-dir/b/f1
    echo appended >> README.txt
    truncate -s 100 grown
    truncate -s 3 run.sh
    truncate -s 5000 hole && printf 'end' >> hole
    printf 'XYZ' | dd of=README.txt bs=1 seek=2 conv=notrunc status=none
    dd if=/dev/zero of=zeros bs=4096 count=3 status=none
    printf 'tail' | dd of=zeros bs=1 seek=20000 conv=notrunc status=none
    python3 -c "open('py.txt', 'w').write('python\n' * 1000)"
    python3 - <<'PY'
    import mmap
    with open('mapped', 'wb') as f:
        f.write(b'\0' * 8192)
    with open('mapped', 'r+b') as f:
        m = mmap.mmap(f.fileno(), 8192)
        m[5000:5004] = b'mmap'
        m.flush()
        m.close()
    PY
    vim -E -s -n src/app.py <<'VIM'
    :%s/print/echo/
    :wq
    VIM
    vim -E -s -c 'set backupcopy=no writebackup' synced/a/b/f3 <<'VIM'
    :s/$/ vim-renamed-over/
    :wq
    VIM
    chmod +x grown
    chmod -x run.sh
    chmod 600 py.txt
    ln -s README.txt link2
    mkdir -p empty/inner
    touch -d '2001-01-01' README.txt
    """#

    /// Inputs: two versions of a small tree (with an executable and a symlink), a tarball
    /// and a zip of a larger one.
    static func makeInputs(_ dir: TempDir) throws -> String {
        let work = dir.sub("work")
        try sh("""
            mkdir -p src/a/b src2/a/b big/x/y
            for i in $(seq 1 30); do echo "file $i" > src/a/b/f$i; echo "file $i changed" > src2/a/b/f$i; done
            echo extra > src2/a/extra
            ln -s f1 src/a/b/link; ln -s f1 src2/a/b/link
            printf '#!/bin/sh\\n' > src/a/run; chmod +x src/a/run; cp -a src/a/run src2/a/run
            for i in $(seq 1 200); do head -c $((i * 37)) /dev/urandom > big/x/y/r$i; done
            tar -cf tree.tar -C big .
            (cd big && zip -qr ../tree.zip .)
            """, in: try { try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true); return work }())
        return work
    }

    /// `utimensat` keeps what was set to the nanosecond, atime apart from mtime, while the
    /// mount runs (Git stores no times).
    @Test func touchKeepsExactTimesAndAtimeApartFromMtime() throws {
        let dir = TempDir("times")
        let (repo, _, _) = try makeHistoryRepo(dir)
        let mount = try Mount(repo, in: dir)
        defer { mount.unmount() }
        try sh("echo t > t.txt && touch -d @200000000.2 t.txt", in: mount.point)
        #expect(try run(["stat", "-c", "%.9Y %.9X", mount.path("t.txt")]) == "200000000.200000000 200000000.200000000\n")
        try sh("touch -a -d @100000000.123456789 t.txt", in: mount.point)
        #expect(try run(["stat", "-c", "%.9Y %.9X", mount.path("t.txt")]) == "200000000.200000000 100000000.123456789\n")
        try sh("touch -m -d @300000000.000000001 t.txt", in: mount.point)
        #expect(try run(["stat", "-c", "%.9Y %.9X", mount.path("t.txt")]) == "300000000.000000001 100000000.123456789\n")
        // ctime moves to now with each change, times included.
        let ctime = Double(try run(["stat", "-c", "%.9Z", mount.path("t.txt")]).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        #expect(abs(ctime - Date().timeIntervalSince1970) < 60)
        // Directories too.
        try sh("mkdir d && touch -d @400000000.5 d", in: mount.point)
        #expect(try run(["stat", "-c", "%.9Y", mount.path("d")]) == "400000000.500000000\n")
    }

    @Test func everyProgramEndsWithTheSameTreeAsOnADisk() throws {
        let dir = TempDir("programs")
        let (repo, _, _) = try makeHistoryRepo(dir)
        let work = try Self.makeInputs(dir)
        let native = dir.sub("native")
        try archive(repo, into: native)
        try sh(Self.script, in: native, env: ["WORK": work])

        let before = try commitCount(repo)
        let mount = try Mount(repo, in: dir, arguments: ["--commit-delay", "600"])
        defer { mount.unmount() }
        try sh(Self.script, in: mount.point, env: ["WORK": work])
        try expectSameTree(native, mount.point)
        #expect(try run(["stat", "-c", "%a", mount.path("py.txt")]) == "644\n", "mode bits other than x are normalised")
        #expect(try run(["stat", "-c", "%Y", mount.path("README.txt")]) == "978307200\n", "utimens is kept while mounted")

        // History is the state before the batch; git diff between it and the branch works.
        let diff = try? run(["git", "diff", "--no-index", "--stat", mount.path("@v1"), mount.point])
        #expect(diff == nil, "git diff --no-index exits 1 when the trees differ")
        let stat = try sh("git diff --no-index --stat '\(mount.path("@v1"))' '\(mount.point)' || true", in: dir.path)
        #expect(stat.contains("src/app.py"))

        mount.unmount()
        #expect(try commitCount(repo) > before)
        try expectFsckClean(repo)
        let fromGit = dir.sub("from-git")
        try archive(repo, into: fromGit)
        try expectSameTree(try withoutEmptyDirectories(native, in: dir), fromGit)

        let again = try Mount(repo, in: dir, name: "again")
        defer { again.unmount() }
        try expectSameTree(native, again.point)
    }

    /// nano needs a terminal: tmux gives it one, and each key goes in only once the screen
    /// shows nano is ready for it (polled, with a deadline; a missed wait fails the script).
    /// `--locking` makes it keep a `.NAME.swp` lock file beside the file while editing.
    static let nanoSession = #"""
    set -eu
    trap 'tmux kill-session -t "$SESSION" 2>/dev/null || true' EXIT
    wait_for() {
        for _ in $(seq 200); do
            tmux capture-pane -p -t "$SESSION" 2>/dev/null | grep -q "$1" && return 0
            sleep 0.05
        done
        echo "nano never showed: $1" >&2
        return 1
    }
    TERM=xterm tmux new-session -d -s "$SESSION" -x 100 -y 30 "nano --locking notes.txt"
    wait_for "first line"
    test -e .notes.txt.swp
    tmux send-keys -t "$SESSION" "nano was here " C-o
    wait_for "File Name to Write"
    tmux send-keys -t "$SESSION" Enter
    wait_for "Wrote"
    tmux send-keys -t "$SESSION" C-x
    for _ in $(seq 200); do tmux has-session -t "$SESSION" 2>/dev/null || exit 0; sleep 0.05; done
    echo "nano did not exit" >&2
    exit 1
    """#

    @Test func nanoSavesThroughTheMount() throws {
        let dir = TempDir("nano")
        let (repo, _, _) = try makeHistoryRepo(dir)
        let mount = try Mount(repo, in: dir, arguments: ["--commit-delay", "600"])
        defer { mount.unmount() }
        try sh("printf 'first line\\n' > notes.txt", in: mount.point)
        _ = try sh(Self.nanoSession, in: mount.point, env: ["SESSION": "vost-nano-\(getpid())"])
        #expect(contents(mount.path("notes.txt")) == "nano was here first line\n")
        #expect(!FileManager.default.fileExists(atPath: mount.path(".notes.txt.swp")), "nano removes its lock file")
        _ = try run(["sync", mount.path("notes.txt")])
        #expect(try git(repo, "show", "main:notes.txt") == "nano was here first line\n")
        #expect(!(try git(repo, "ls-tree", "--name-only", "main")).contains(".swp"), "the lock file never reaches a commit")
        try expectFsckClean(repo)
    }
}
