import CFuse
import Foundation

/// The only way a request is answered: each helper sends exactly one reply.
enum Reply {
    static func error(_ req: fuse_req_t?, _ error: Error) {
        fuse_reply_err(req, errnoValue(for: error))
    }

    static func entry(_ req: fuse_req_t?, id: UInt64, attr: stat, attrTimeout: Double, entryTimeout: Double) {
        var entry = fuse_entry_param()
        entry.ino = fuse_ino_t(id)
        entry.attr = attr
        entry.attr_timeout = attrTimeout
        entry.entry_timeout = entryTimeout
        fuse_reply_entry(req, &entry)
    }

    static func attr(_ req: fuse_req_t?, _ attr: stat, timeout: Double) {
        var attr = attr
        fuse_reply_attr(req, &attr, timeout)
    }

    static func bytes(_ req: fuse_req_t?, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            _ = fuse_reply_buf(req, raw.baseAddress?.assumingMemoryBound(to: CChar.self), raw.count)
        }
    }

    /// getxattr/listxattr: with size 0 the caller asks how much room it needs.
    static func xattr(_ req: fuse_req_t?, _ value: [UInt8], size: Int) {
        if size == 0 {
            fuse_reply_xattr(req, value.count)
        } else if size < value.count {
            fuse_reply_err(req, ERANGE)
        } else {
            bytes(req, value)
        }
    }

    static func readlink(_ req: fuse_req_t?, _ target: [UInt8]) {
        (target + [0]).withUnsafeBytes { raw in
            _ = fuse_reply_readlink(req, raw.baseAddress!.assumingMemoryBound(to: CChar.self))
        }
    }
}

/// Runs a request's Swift body and sends its error if it throws, so a callback is one line
/// and no path can leave a request unanswered.
@inline(__always)
func answer(_ req: fuse_req_t?, _ body: (Filesystem) throws -> Void) {
    guard let data = fuse_req_userdata(req) else {
        fuse_reply_err(req, EIO)
        return
    }
    let fs = Unmanaged<Filesystem>.fromOpaque(data).takeUnretainedValue()
    do { try body(fs) } catch {
        let code = errnoValue(for: error)
        if code == EIO { fs.logger.error("request failed: \(error)") }
        fuse_reply_err(req, code)
    }
}

/// A C name as bytes (names are bytes; they need not be UTF-8).
func nameBytes(_ name: UnsafePointer<CChar>?) -> [UInt8] {
    guard let name else { return [] }
    return Array(UnsafeBufferPointer(start: UnsafeRawPointer(name).assumingMemoryBound(to: UInt8.self), count: strlen(name)))
}
