import CNetlink
import Glibc
import SystemPackage

/// How the receiver throws received bytes away. It never writes them to disk.
public enum DrainMethod: String, CaseIterable, Sendable {
    /// recv(MSG_TRUNC): Linux TCP discards queued bytes without copying them out.
    case trunc
    /// splice socket → pipe → /dev/null: no copy to user space either.
    case splice
    /// recv into one reused 256 KiB buffer: a copy, as most applications do.
    case recv

    /// Chosen by measurement (see README, "Draining"): the cheapest per GiB here.
    public static let `default`: DrainMethod = .trunc
}

/// Pulls bytes off a socket by one `DrainMethod`, following a `TransferWait`'s rule.
final class Drainer {
    let method: DrainMethod
    let socket: Int32
    let wait: TransferWait
    private let buffer: CopyBuffer
    private let pipe: KernelPipe?
    private let devNull: Int32

    init(method: DrainMethod, socket: Int32, wait: TransferWait) throws(Errno) {
        self.method = method
        self.socket = socket
        self.wait = wait
        buffer = CopyBuffer(byteCount: method == .recv ? 256 * 1024 : 0, placement: .halfPage)
        if method == .splice {
            pipe = try KernelPipe()
            devNull = try Syscall.call { open("/dev/null", O_WRONLY | O_CLOEXEC) }
        } else {
            pipe = nil
            devNull = -1
        }
        wait.prepare(socket: socket)
    }

    deinit {
        if devNull >= 0 { Syscall.close(devNull) }
    }

    /// Receives and discards up to `limit` bytes, waiting for the first of them.
    /// Returns 0 at end of stream.
    /// - Throws: `TransferTimeout`, `Interrupted`, or `Errno` from the receive.
    func drain(limit: Int) throws -> Int {
        while true {
            if let n = try drainSome(limit: limit) {
                if n > 0 { try wait.progressed(n) }
                return n
            }
            try wait.idle()
        }
    }

    /// One step: what the socket has now — on a blocking socket waiting at most
    /// the wait's slice, on a non-blocking one not at all.
    /// - Returns: the bytes discarded, 0 at end of stream, nil when none came.
    func drainSome(limit: Int) throws(Errno) -> Int? {
        do {
            return try receive(min(limit, 1 << 20))
        } catch {
            guard TransferWait.waited(error) else { throw error }
            return nil
        }
    }

    private func receive(_ want: Int) throws(Errno) -> Int {
        switch method {
        case .trunc:
            return try Syscall.attempt { recv(socket, nil, want, Int32(MSG_TRUNC)) }
        case .recv:
            return try Syscall.attempt { recv(socket, buffer.bytes.baseAddress, min(want, buffer.bytes.count), 0) }
        case .splice:
            guard let pipe else { return 0 }
            let n = try Syscall.attempt { splice(socket, nil, pipe.writeEnd, nil, min(want, pipe.capacity), KernelPipe.spliceFlags) }
            do { try pipe.drain(n, to: devNull) } catch { throw (error as? SendError)?.errno ?? .ioError }
            return n
        }
    }
}
