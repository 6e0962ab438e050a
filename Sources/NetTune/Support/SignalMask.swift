import Glibc

/// A process inherits its signal mask across exec. Some launchers (test runners,
/// job supervisors) start children with signals blocked, which would make
/// `nettune serve` impossible to stop with SIGTERM and `try` blind to Ctrl-C.
public enum SignalMask {
    /// Unblocks `Interruption.terminating` for this thread and the ones it starts.
    public static func unblockTermination() {
        var set = sigset_t()
        sigemptyset(&set)
        for number in Interruption.terminating { sigaddset(&set, number) }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }
}

extension SignalMask {
    /// Writing to a socket whose peer is gone raises SIGPIPE, which kills a process by
    /// default; sendfile and splice cannot pass MSG_NOSIGNAL. Ignored, the call fails
    /// with EPIPE and the probe reports "the peer closed the connection".
    public static func ignoreBrokenPipe() {
        signal(SIGPIPE, SIG_IGN)
    }
}

extension SignalMask {
    /// A background job that reads its terminal gets SIGTTIN, and one that writes it
    /// under `stty tostop` SIGTTOU; both stop the process until `fg`. A `try` or an A/B
    /// test stopped that way keeps the profile under test past its timeout. Ignored,
    /// the read fails with EIO (`ConfirmationWait` only reads in the foreground
    /// anyway) and the write goes through.
    public static func keepRunningInTheBackground() {
        signal(SIGTTIN, SIG_IGN)
        signal(SIGTTOU, SIG_IGN)
    }
}
