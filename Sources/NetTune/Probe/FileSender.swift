import CNetlink
import Glibc
import SystemPackage

/// Moves bytes of an open file into a connected socket by one method. Every call
/// loops on short transfers and follows the `TransferWait`'s rule, so a receiver
/// that stops reading ends the send at the stall timeout and a signal ends it
/// within a slice.
final class FileSender {
    let method: ProbeMethod
    let file: Int32
    let socket: Int32
    let wait: TransferWait
    /// The read/write buffer, allocated once and reused for every call.
    private let buffer: UnsafeMutableRawBufferPointer
    private let pipe: KernelPipe?

    /// - Parameter bufferSize: the read/write buffer (readwrite only).
    init(method: ProbeMethod, file: Int32, socket: Int32, bufferSize: Int, wait: TransferWait) throws(Errno) {
        self.method = method
        self.file = file
        self.socket = socket
        self.wait = wait
        buffer = .allocate(byteCount: method == .readwrite ? max(1, bufferSize) : 0, alignment: 16)
        pipe = method == .splice ? try KernelPipe() : nil
        wait.prepare(socket: socket)
    }

    deinit {
        buffer.deallocate()
    }

    /// Sends exactly `count` bytes starting at file `offset`.
    func send(offset: Int, count: Int) throws {
        switch method {
        case .sendfile: try sendfileLoop(offset: offset, count: count)
        case .splice: try spliceLoop(offset: offset, count: count)
        case .readwrite: try readWriteLoop(offset: offset, count: count)
        }
    }

    private func sendfileLoop(offset: Int, count: Int) throws {
        var position = off_t(offset)
        var remaining = count
        while remaining > 0 {
            let n: Int
            do {
                n = try Syscall.attempt { sendfile(socket, file, &position, remaining) }
            } catch {
                guard TransferWait.waited(error) else { throw SendError(operation: "sendfile", errno: error) }
                try wait.idle()
                continue
            }
            if n == 0 { throw SendError(operation: "sendfile", errno: .ioError, detail: "the file ended early (was it truncated?)") }
            remaining -= n
            try wait.progressed(n)
        }
    }

    private func spliceLoop(offset: Int, count: Int) throws {
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
            try pipe.drain(filled, to: socket, wait: wait)
            remaining -= filled
        }
    }

    private func readWriteLoop(offset: Int, count: Int) throws {
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
                    let n = try Syscall.attempt { write(socket, buffer.baseAddress.map { $0 + sent }, got - sent) }
                    sent += n
                    try wait.progressed(n)
                } catch let error as Errno {
                    guard TransferWait.waited(error) else { throw SendError(operation: "write", errno: error) }
                    try wait.idle()
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
