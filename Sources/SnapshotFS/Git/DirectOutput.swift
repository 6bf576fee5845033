import Foundation

/// Where a large loose object's deflated bytes go on their way to its file: two aligned
/// buffers that zlib fills in turn, each written with `O_DIRECT` on a writer queue while the
/// other fills.
///
/// Why: the object is made durable at once (the commit's `fsync`), so passing it through
/// the page cache only costs a copy, a gigabyte of freshly allocated pages per gigabyte, and
/// then the write-back anyway. With `O_DIRECT` the disk reads the buffer itself while zlib
/// fills the other one and another thread hashes. Where the filesystem refuses `O_DIRECT`
/// (tmpfs, some FUSE and network filesystems) the same writes go through the page cache.
/// Owns the buffers, not the descriptor.
///
/// Threads: one thread fills; the writer queue touches only a buffer handed to it, which the
/// filling thread takes back only after that buffer's semaphore is signalled.
final class DirectOutput {
    /// Alignment that every Linux block device's logical block size divides.
    private static let alignment = 4096
    private static let capacity = 4 << 20
    private let file: File
    private let buffers: [UnsafeMutableRawPointer]
    private let free = [DispatchSemaphore(value: 1), DispatchSemaphore(value: 1)]
    private let writer = DispatchQueue(label: "vostmount.object-writer")
    private var current = 0
    private var used = 0
    private var offset = 0

    init(fd: Int32) throws {
        var made: [UnsafeMutableRawPointer] = []
        for _ in 0..<2 {
            var memory: UnsafeMutableRawPointer?
            guard posix_memalign(&memory, Self.alignment, Self.capacity) == 0, let memory else {
                made.forEach { Glibc.free($0) }
                throw SnapshotError.io(errno: ENOMEM, "cannot allocate an output buffer")
            }
            made.append(memory)
        }
        buffers = made
        file = File(fd: fd)
        free[current].wait()
    }

    deinit {
        // The writer's blocks hold `file`, never `self`, so this never runs on the writer
        // queue and may wait for it: a write in flight still reads its buffer.
        writer.sync {}
        // The filler always holds the current buffer's semaphore; libdispatch traps on
        // freeing a semaphore below its starting value.
        free[current].signal()
        buffers.forEach { Glibc.free($0) }
    }

    /// Returns once no write is in flight: before the descriptor is closed, on every path.
    func settle() { writer.sync {} }

    /// The free part of the current buffer, for zlib to fill; `filled(_:)` says how much it did.
    var room: UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: buffers[current] + used, count: Self.capacity - used)
    }

    func filled(_ count: Int) throws {
        used += count
        guard used == Self.capacity else { return }
        // A full buffer is whole blocks: it goes to the writer, and zlib moves to the other.
        let file = file, buffer = Pointer(raw: buffers[current]), done = free[current], at = offset
        offset += used
        writer.async {
            if file.failure == nil {
                do { try file.write(buffer.raw, count: Self.capacity, at: at) } catch { file.failure = error }
            }
            done.signal()
        }
        current ^= 1
        used = 0
        free[current].wait()
        if let failure = file.failure { throw failure }
    }

    /// Writes everything left, once the writer is done; the descriptor is then an ordinary
    /// one again.
    func finish() throws {
        free[current ^ 1].wait()  // the writer's last write (the queue runs them in order)
        free[current ^ 1].signal()
        if let failure = file.failure { throw failure }
        let whole = file.direct ? used & ~(Self.alignment - 1) : used
        if whole > 0 { try file.write(buffers[current], count: whole, at: offset) }
        if file.direct { try file.setDirect(false) }
        if used > whole { try file.write(buffers[current] + whole, count: used - whole, at: offset + whole) }
        offset += used
        used = 0
    }

    /// The descriptor as the writer queue sees it. `failure` and `direct` change on the
    /// writer queue before a buffer's semaphore is signalled and are read by the filler after
    /// its wait, so the semaphores order every access (hence `@unchecked Sendable`).
    private final class File: @unchecked Sendable {
        let fd: Int32
        var direct: Bool
        var failure: Error?

        init(fd: Int32) {
            self.fd = fd
            let flags = fcntl(fd, F_GETFL)
            direct = flags >= 0 && fcntl(fd, F_SETFL, flags | __O_DIRECT) == 0
        }

        func write(_ bytes: UnsafeMutableRawPointer, count: Int, at offset: Int) throws {
            do {
                try Syscalls.writeAll(fd, UnsafeRawBufferPointer(start: bytes, count: count), at: offset, "an object")
            } catch SnapshotError.io(let code, _) where code == EINVAL && direct {
                // Some filesystems take the flag and then refuse the I/O: write as usual.
                try setDirect(false)
                try write(bytes, count: count, at: offset)
            }
        }

        func setDirect(_ on: Bool) throws {
            let flags = fcntl(fd, F_GETFL)
            guard flags >= 0, fcntl(fd, F_SETFL, on ? flags | __O_DIRECT : flags & ~__O_DIRECT) == 0 else {
                throw SnapshotError.posix("cannot change how an object is written")
            }
            direct = on
        }
    }

    /// A buffer handed to the writer queue, which alone touches it until its semaphore.
    private struct Pointer: @unchecked Sendable {
        let raw: UnsafeMutableRawPointer
    }
}
