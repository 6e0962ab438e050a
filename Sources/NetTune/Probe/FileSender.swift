import CNetlink
import Glibc
import SystemPackage

/// Moves bytes of an open file into a connected socket by one method.
///
/// `sendSome` is one step: it moves what the socket takes now — on a blocking
/// socket it waits at most the `TransferWait`'s slice, on a non-blocking one not
/// at all — and returns 0 when nothing moved. `send` loops on it and follows the
/// wait's rule, so a receiver that stops reading ends the send at the stall
/// timeout and a signal ends it within a slice.
final class FileSender {
    let method: ProbeMethod
    let file: Int32
    let socket: Int32
    let wait: TransferWait
    /// The read/write buffer, allocated once and reused for every call.
    private let buffer: CopyBuffer
    private let pipe: KernelPipe?
    /// Bytes read ahead into `buffer` (readwrite) or the pipe (splice) that the
    /// socket has not taken yet: they continue at the next step's offset.
    private var pending: Range<Int> = 0..<0
    private var inPipe = 0

    /// - Parameter bufferSize: the read/write buffer (readwrite only).
    init(method: ProbeMethod, file: Int32, socket: Int32, bufferSize: Int, wait: TransferWait) throws(Errno) {
        self.method = method
        self.file = file
        self.socket = socket
        self.wait = wait
        buffer = CopyBuffer(byteCount: method == .readwrite ? max(1, bufferSize) : 0, placement: .pageStart)
        pipe = method == .splice ? try KernelPipe() : nil
        wait.prepare(socket: socket)
    }

    /// Sends exactly `count` bytes starting at file `offset`.
    func send(offset: Int, count: Int) throws {
        var done = 0
        while done < count {
            let n = try sendSome(offset: offset + done, count: count - done)
            if n == 0 {
                try wait.idle()
            } else {
                done += n
                try wait.progressed(n)
            }
        }
    }

    /// One step of at most `count` bytes from file `offset` (which must follow the
    /// previous step's end: read-ahead bytes continue there).
    /// - Returns: the bytes the socket took; 0 when it took none (its buffer is full,
    ///   or a signal cut the wait short).
    func sendSome(offset: Int, count: Int) throws -> Int {
        guard count > 0 else { return 0 }
        do {
            switch method {
            case .sendfile:
                var position = off_t(offset)
                let n = try Syscall.attempt { sendfile(socket, file, &position, count) }
                if n == 0 { throw SendError(operation: "sendfile", errno: .ioError, detail: "the file ended early (was it truncated?)") }
                return n
            case .splice:
                return try spliceStep(offset: offset, count: count)
            case .readwrite:
                return try readWriteStep(offset: offset, count: count)
            }
        } catch let error as Errno {
            guard TransferWait.waited(error) else { throw SendError(operation: operationName, errno: error) }
            return 0
        }
    }

    private var operationName: String {
        switch method {
        case .sendfile: "sendfile"
        case .splice: "splice (pipe → socket)"
        case .readwrite: "write"
        }
    }

    private func spliceStep(offset: Int, count: Int) throws -> Int {
        guard let pipe else { return 0 }
        if inPipe == 0 {
            var position = loff_t(offset)
            let filled: Int
            do {
                filled = try Syscall.call { splice(file, &position, pipe.writeEnd, nil, min(count, pipe.capacity), KernelPipe.spliceFlags) }
            } catch {
                throw SendError(operation: "splice (file → pipe)", errno: error)
            }
            if filled == 0 { throw SendError(operation: "splice", errno: .ioError, detail: "the file ended early (was it truncated?)") }
            inPipe = filled
        }
        let n = try Syscall.attempt { splice(pipe.readEnd, nil, socket, nil, inPipe, KernelPipe.spliceFlags) }
        inPipe -= n
        return n
    }

    private func readWriteStep(offset: Int, count: Int) throws -> Int {
        if pending.isEmpty {
            let want = min(count, buffer.bytes.count)
            let got: Int
            do {
                got = try Syscall.call { pread(file, buffer.bytes.baseAddress, want, off_t(offset)) }
            } catch {
                throw SendError(operation: "read", errno: error)
            }
            if got == 0 { throw SendError(operation: "read", errno: .ioError, detail: "the file ended early (was it truncated?)") }
            pending = 0..<got
        }
        let from = pending.lowerBound
        let n = try Syscall.attempt { write(socket, buffer.bytes.baseAddress.map { $0 + from }, pending.count) }
        pending = (from + n)..<pending.upperBound
        return n
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
