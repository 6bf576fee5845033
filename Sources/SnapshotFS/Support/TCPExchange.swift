import Foundation

/// One request and its whole answer over a TCP connection: connect, send, close our side,
/// read to the end. Every step is bounded by `timeout` (the socket's send and receive
/// timeouts, and a non-blocking connect), so a server that does not answer costs that long
/// at most. Owns its socket for the call.
enum TCPExchange {
    /// The answer; nil if no address of `host` accepted the connection.
    static func run(host: String, port: UInt16, send request: [UInt8], timeout: TimeInterval) throws -> [UInt8]? {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var found: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &found) == 0, let first = found else { return nil }
        defer { freeaddrinfo(first) }
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        while let address = candidate {
            candidate = address.pointee.ai_next
            let fd = socket(address.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            guard connect(fd, address.pointee.ai_addr, address.pointee.ai_addrlen, within: timeout) else { continue }
            var limit = timeval(tv_sec: Int(timeout), tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
            // send with MSG_NOSIGNAL: a server that closes early is an error, not SIGPIPE.
            var sent = 0
            while sent < request.count {
                let n = request.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
                if n < 0, errno == EINTR { continue }
                guard n > 0 else { throw SnapshotError.posix("cannot send the request to \(host)") }
                sent += n
            }
            shutdown(fd, Int32(SHUT_WR))
            return try Syscalls.readToEnd(fd, "the answer of \(host)")
        }
        return nil
    }

    /// A connect that gives up after `timeout`.
    private static func connect(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t, within timeout: TimeInterval) -> Bool {
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        defer { _ = fcntl(fd, F_SETFL, flags) }
        if Glibc.connect(fd, address, length) == 0 { return true }
        guard errno == EINPROGRESS else { return false }
        var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        guard Syscalls.retryingInterrupts({ poll(&poller, 1, Int32(timeout * 1000)) }) == 1 else { return false }
        var failure: Int32 = 0
        var size = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(fd, SOL_SOCKET, SO_ERROR, &failure, &size) == 0 && failure == 0
    }
}
