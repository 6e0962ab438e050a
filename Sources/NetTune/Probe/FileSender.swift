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
    private let pipe: KernelPipe?

    /// - Parameter bufferSize: the read/write buffer (readwrite only).
    init(method: ProbeMethod, file: Int32, socket: Int32, bufferSize: Int) throws(Errno) {
        self.method = method
        self.file = file
        self.socket = socket
        buffer = .allocate(byteCount: method == .readwrite ? max(1, bufferSize) : 0, alignment: 16)
        pipe = method == .splice ? try KernelPipe() : nil
    }

    deinit {
        buffer.deallocate()
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
        guard let pipe else { return }
        var position = loff_t(offset)
        var remaining = count
        while remaining > 0 {
            let filled: Int
            do {
                filled = try Syscall.call { splice(file, &position, pipe.writeEnd, nil, min(remaining, pipe.capacity), KernelPipe.spliceFlags) }
            } catch {
                throw SendError(operation: "splice (file → pipe)", errno: error)
            }
            if filled == 0 { throw SendError(operation: "splice", errno: .ioError, detail: "the file ended early (was it truncated?)") }
            do {
                try pipe.drain(filled, to: socket)
            } catch {
                throw SendError(operation: "splice (pipe → socket)", errno: error)
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
