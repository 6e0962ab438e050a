import CNetlink
import Glibc
import SystemPackage

/// Moves bytes of an open file into a connected socket by one method. The socket
/// is blocking; every call below loops on short transfers and goes through
/// `Syscall.call`, which retries EINTR.
final class FileSender {
    let method: ProbeMethod
    let file: Int32
    let socket: Int32
    /// The read/write buffer, allocated once and reused for every call.
    private let buffer: UnsafeMutableRawBufferPointer
    private var pipeEnds: (read: Int32, write: Int32)?
    private var pipeCapacity = 0

    /// - Parameter bufferSize: the read/write buffer (readwrite only).
    init(method: ProbeMethod, file: Int32, socket: Int32, bufferSize: Int) throws(Errno) {
        self.method = method
        self.file = file
        self.socket = socket
        buffer = .allocate(byteCount: method == .readwrite ? max(1, bufferSize) : 0, alignment: 16)
        if method == .splice {
            var ends: [Int32] = [0, 0]
            try Syscall.call { pipe(&ends) }
            pipeEnds = (ends[0], ends[1])
            // A bigger pipe means fewer round trips file → pipe → socket; 1 MiB is
            // the default ceiling (fs.pipe-max-size) for unprivileged users too.
            _ = fcntl(ends[1], Int32(CNL_F_SETPIPE_SZ), 1 << 20)
            pipeCapacity = Int(max(fcntl(ends[1], Int32(CNL_F_GETPIPE_SZ)), 65536))
        }
    }

    deinit {
        buffer.deallocate()
        if let pipeEnds {
            close(pipeEnds.read)
            close(pipeEnds.write)
        }
    }

    /// Sends exactly `count` bytes starting at file `offset`.
    func send(offset: Int, count: Int) throws(SendError) {
        switch method {
        case .sendfile: try sendfileLoop(offset: offset, count: count)
        case .splice: try spliceLoop(offset: offset, count: count)
        case .readwrite: try readWriteLoop(offset: offset, count: count)
        }
    }

    private func sendfileLoop(offset: Int, count: Int) throws(SendError) {
        var position = off_t(offset)
        var remaining = count
        while remaining > 0 {
            let n: Int
            do {
                n = try Syscall.call { sendfile(socket, file, &position, remaining) }
            } catch {
                throw SendError(operation: "sendfile", errno: error)
            }
            if n == 0 { throw SendError(operation: "sendfile", errno: .ioError, detail: "the file ended early (was it truncated?)") }
            remaining -= n
        }
    }

    private func spliceLoop(offset: Int, count: Int) throws(SendError) {
        guard let pipeEnds else { return }
        var position = loff_t(offset)
        var remaining = count
        let flags = UInt32(CNL_SPLICE_F_MOVE | CNL_SPLICE_F_MORE)
        while remaining > 0 {
            let filled: Int
            do {
                filled = try Syscall.call { splice(file, &position, pipeEnds.write, nil, min(remaining, pipeCapacity), flags) }
            } catch {
                throw SendError(operation: "splice (file → pipe)", errno: error)
            }
            if filled == 0 { throw SendError(operation: "splice", errno: .ioError, detail: "the file ended early (was it truncated?)") }
            var inPipe = filled
            while inPipe > 0 {
                do {
                    inPipe -= try Syscall.call { splice(pipeEnds.read, nil, socket, nil, inPipe, flags) }
                } catch {
                    throw SendError(operation: "splice (pipe → socket)", errno: error)
                }
            }
            remaining -= filled
        }
    }

    private func readWriteLoop(offset: Int, count: Int) throws(SendError) {
        var position = offset
        var remaining = count
        let size = buffer.count
        while remaining > 0 {
            let want = min(remaining, size)
            let got: Int
            do {
                got = try Syscall.call { pread(file, buffer.baseAddress, want, off_t(position)) }
            } catch {
                throw SendError(operation: "read", errno: error)
            }
            if got == 0 { throw SendError(operation: "read", errno: .ioError, detail: "the file ended early (was it truncated?)") }
            var sent = 0
            while sent < got {
                do {
                    sent += try Syscall.call { write(socket, buffer.baseAddress.map { $0 + sent }, got - sent) }
                } catch {
                    throw SendError(operation: "write", errno: error)
                }
            }
            position += got
            remaining -= got
        }
    }
}

/// A send that failed.
public struct SendError: Error, Equatable, CustomStringConvertible {
    public var operation: String
    public var errno: Errno
    public var detail: String?

    public var description: String {
        if let detail { return "\(operation) failed: \(detail)" }
        switch errno {
        case .connectionReset, .brokenPipe:
            return "the peer closed the connection during the transfer (\(operation): \(errno))"
        default:
            return "\(operation) failed: \(errno)"
        }
    }
}
