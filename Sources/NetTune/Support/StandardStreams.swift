import Glibc

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
}
