import CNetlink
import Glibc
import SystemPackage

/// Standard input, output and error, made to exist.
public enum StandardStreams {
    /// A program started with a standard stream closed (`nettune serve 2>&-`, some
    /// daemon launchers) would give that descriptor number to the next file or pipe
    /// it opens, and write its messages or results into that: nettune's own
    /// signal pipe took 0 and 1, and its log lines went into another of its pipes.
    /// Each closed one is opened on /dev/null first, as daemons do.
    public static func openMissing() {
        for fd: Int32 in 0...2 where !Syscall.isOpen(fd) {
            Syscall.openNullDevice(as: fd)
        }
    }

    /// Flushes what `print` buffered for stdout and says whether all of it got
    /// there. A results file cut short by a full disk must not look like a result
    /// (coreutils exit 1 on it too); a reader that went away (`| head`) is no error.
    /// - Returns: nil when it all went out or the reader left; otherwise why not,
    ///   when the kernel said (an error from an earlier flush leaves only the flag).
    public static func flushOutput() -> OutputFailure? {
        let output = cnl_standard_output()
        errno = 0
        let flushed = fflush(output) == 0
        let reason = flushed ? nil : Errno(rawValue: errno)
        guard !flushed || ferror(output) != 0 else { return nil }
        if reason == .brokenPipe { return nil }
        // An earlier flush failed and this one had nothing left to write: if the
        // reader is gone, that was it leaving.
        if reason == nil && Syscall.hasNoReader(STDOUT_FILENO) { return nil }
        return OutputFailure(reason: reason)
    }
}

/// Standard output that did not take everything written to it.
public struct OutputFailure: Error, Equatable, CustomStringConvertible {
    public var reason: Errno?
    public var description: String {
        "the output could not all be written to stdout" + (reason.map { ": \($0)" } ?? "")
            + "; what reached it is incomplete"
    }
}
