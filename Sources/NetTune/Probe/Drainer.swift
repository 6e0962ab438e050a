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

/// Pulls bytes off a socket by one `DrainMethod`.
final class Drainer {
    let method: DrainMethod
    let socket: Int32
    private let buffer: UnsafeMutableRawBufferPointer
    private var pipeEnds: (read: Int32, write: Int32)?
    private var devNull: Int32 = -1
    private var pipeCapacity = 65536

    init(method: DrainMethod, socket: Int32) throws(Errno) {
        self.method = method
        self.socket = socket
        buffer = .allocate(byteCount: method == .recv ? 256 * 1024 : 0, alignment: 16)
        if method == .splice {
            var ends: [Int32] = [0, 0]
            try Syscall.call { pipe(&ends) }
            pipeEnds = (ends[0], ends[1])
            _ = fcntl(ends[1], Int32(CNL_F_SETPIPE_SZ), 1 << 20)
            pipeCapacity = Int(max(fcntl(ends[1], Int32(CNL_F_GETPIPE_SZ)), 65536))
            devNull = try Syscall.call { open("/dev/null", O_WRONLY | O_CLOEXEC) }
        }
    }

    deinit {
        buffer.deallocate()
        if let pipeEnds {
            close(pipeEnds.read)
            close(pipeEnds.write)
        }
        if devNull >= 0 { close(devNull) }
    }

    /// Receives and discards up to `limit` bytes. Returns 0 at end of stream.
    /// A receive timeout surfaces as `.wouldBlock` (EAGAIN).
    func drain(limit: Int) throws(Errno) -> Int {
        let want = min(limit, 1 << 20)
        switch method {
        case .trunc:
            return try Syscall.call { recv(socket, nil, want, Int32(MSG_TRUNC)) }
        case .recv:
            return try Syscall.call { recv(socket, buffer.baseAddress, min(want, buffer.count), 0) }
        case .splice:
            guard let pipeEnds else { return 0 }
            let flags = UInt32(CNL_SPLICE_F_MOVE | CNL_SPLICE_F_MORE)
            let n = try Syscall.call { splice(socket, nil, pipeEnds.write, nil, min(want, pipeCapacity), flags) }
            var inPipe = n
            while inPipe > 0 {
                inPipe -= try Syscall.call { splice(pipeEnds.read, nil, devNull, nil, inPipe, flags) }
            }
            return n
        }
    }
}
