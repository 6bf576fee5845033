import CFuse
import Foundation
import Logging
import Synchronization

/// FUSE passthrough (Linux 6.9 and later): for a file whose content is a file on disk as it
/// is (an LFS object), the kernel reads that file itself. No read request reaches us and no
/// copy lands in the mount's page cache, so a cold `cat` runs at the disk's speed instead of
/// FUSE's (128 KiB round trips, every page copied twice).
///
/// libfuse 3.14 (Debian 12's) predates it, so it is switched on one layer down: the session's
/// device I/O goes through `fuse_session_custom_io`, and `send` writes every message as
/// libfuse made it except two, which it completes with fields libfuse does not know:
/// - the session's first reply, to INIT: asks for FUSE_PASSTHROUGH and says how deep backing
///   files may be stacked;
/// - an open reply armed by `replyOpen` on the same thread (libfuse writes a reply on the
///   thread that makes it, before `fuse_reply_open` returns): FOPEN_PASSTHROUGH and the id.
/// A kernel without passthrough ignores the flag; whether it is on shows when the first
/// backing file is registered, which also needs CAP_SYS_ADMIN. Until then, and for good after
/// a refusal, `register` answers nil and every open goes the ordinary way.
final class PassthroughChannel: @unchecked Sendable {
    // @unchecked: the mutable state is atomics; the thread's armed id is thread-specific.
    private let logger: Logger
    /// The session's /dev/fuse descriptor, once installed.
    private let device = Atomic<Int32>(-1)
    private let initSent = Atomic<Bool>(false)
    private let refused = Atomic<Bool>(false)
    /// FILESYSTEM_MAX_STACK_DEPTH is 2: a mount that allows backing files on a stacked
    /// filesystem (overlayfs) cannot itself be stacked on; one on a plain filesystem can.
    private let stackDepth: UInt32

    init(logger: Logger, storeOnStackedFilesystem: Bool) {
        self.logger = logger
        stackDepth = storeOnStackedFilesystem ? 2 : 1
    }

    var installed: Bool { device.load(ordering: .acquiring) >= 0 }
    /// Whether registering backing files is still worth trying.
    var usable: Bool { installed && !refused.load(ordering: .relaxed) }

    /// Registering a backing file needs CAP_SYS_ADMIN: without it the channel is not worth
    /// installing (bit 21 of the effective set in /proc/self/status).
    static var processMayUse: Bool {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("CapEff:") }),
              let set = UInt64(line.dropFirst(7).trimmingCharacters(in: .whitespaces), radix: 16) else { return false }
        return set & (1 << 21) != 0
    }

    /// Routes the session's device I/O through `send`; before the loop starts, after the mount.
    func install(on session: OpaquePointer) -> Bool {
        var io = fuse_custom_io()
        io.writev = { fd, iov, count, userdata in
            guard let iov, let userdata else { return writev(fd, iov, count) }
            return Unmanaged<Filesystem>.fromOpaque(userdata).takeUnretainedValue().passthrough.send(fd, iov, Int(count))
        }
        io.read = { fd, buffer, size, _ in read(fd, buffer, size) }
        // Without it libfuse would stop splicing LFS reads (`vost_reply_fd`) to the kernel.
        io.splice_send = { input, inputOffset, output, outputOffset, length, flags, _ in
            vost_splice(input, inputOffset, output, outputOffset, length, flags)
        }
        let fd = fuse_session_fd(session)
        guard fd >= 0, fuse_session_custom_io(session, &io, fd) == 0 else { return false }
        device.store(fd, ordering: .releasing)
        return true
    }

    /// Registers `fd` (read-only) as a backing file: the id to answer an open with, or nil.
    func register(_ fd: Int32) -> Int32? {
        guard usable else { return nil }
        let id = vost_backing_open(device.load(ordering: .acquiring), fd)
        if id > 0 { return id }
        switch -id {
        case EPERM, ENOTTY, EINVAL, EOPNOTSUPP:
            // Not this kernel, or not this process (CAP_SYS_ADMIN): nothing later will do better.
            if !refused.exchange(true, ordering: .relaxed) {
                logger.info("FUSE passthrough unavailable (\(String(cString: strerror(-id)))): LFS files are read through the mount")
            }
        default:
            logger.debug("backing file refused: \(String(cString: strerror(-id)))")
        }
        return nil
    }

    func unregister(_ id: Int32) {
        let code = vost_backing_close(device.load(ordering: .acquiring), id)
        if code != 0 { logger.error("closing backing file \(id): \(String(cString: strerror(-code)))") }
    }

    /// Answers an open through backing file `id`; what `fuse_reply_open` returns.
    static func replyOpen(_ req: fuse_req_t?, _ fi: UnsafeMutablePointer<fuse_file_info>, backing id: Int32) -> Int32 {
        // The kernel takes no other flag beside FOPEN_PASSTHROUGH but direct I/O and noflush:
        // the page cache it would keep is the backing file's.
        fi.pointee.keep_cache = 0
        fi.pointee.direct_io = 0
        pthread_setspecific(armedKey, UnsafeRawPointer(bitPattern: Int(id)))
        defer { pthread_setspecific(armedKey, nil) }
        return fuse_reply_open(req, fi)
    }

    private static let armedKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// The kernel's fuse_out_header: length, error, unique.
    private static let headerSize = 16

    /// Writes one message to the device, completing the two that need it (see the type).
    fileprivate func send(_ fd: Int32, _ iov: UnsafeMutablePointer<iovec>, _ count: Int) -> Int {
        let armed = Int32(truncatingIfNeeded: Int(bitPattern: pthread_getspecific(Self.armedKey)))
        if armed == 0, initSent.load(ordering: .relaxed) { return writev(fd, iov, Int32(count)) }
        var message: [UInt8] = []
        for part in UnsafeBufferPointer(start: iov, count: count) {
            message += UnsafeRawBufferPointer(start: part.iov_base, count: part.iov_len)
        }
        if !initSent.exchange(true, ordering: .acquiringAndReleasing) {
            complete(&message, as: vost_init_out.self) { out in
                out.flags |= VOST_FUSE_INIT_EXT
                out.flags2 |= VOST_FUSE2_PASSTHROUGH
                out.max_stack_depth = stackDepth
            }
        } else if message.count == Self.headerSize + MemoryLayout<vost_open_out>.size {
            complete(&message, as: vost_open_out.self) { out in
                out.open_flags |= VOST_FOPEN_PASSTHROUGH
                out.backing_id = armed
            }
        }
        return message.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    /// Edits the argument after the header of a successful reply, if it has room for `T`.
    private func complete<T>(_ message: inout [UInt8], as type: T.Type, _ edit: (inout T) -> Void) {
        message.withUnsafeMutableBytes { raw in
            guard raw.count >= Self.headerSize + MemoryLayout<T>.size,
                  raw.loadUnaligned(fromByteOffset: 4, as: Int32.self) == 0 else { return }
            var argument = raw.loadUnaligned(fromByteOffset: Self.headerSize, as: T.self)
            edit(&argument)
            withUnsafeBytes(of: argument) { raw.baseAddress!.advanced(by: Self.headerSize).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        }
    }
}
