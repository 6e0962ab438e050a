import Glibc

/// CPU time at one instant: this process (getrusage) and the whole host
/// (/proc/stat). The difference of two samples is what a transfer cost.
///
/// Both are reported because on loopback and veth the kernel's send and receive
/// work runs in softirq context and is charged to whichever process happens to
/// trigger it; per-process CPU alone is not comparable between ends or tools
/// (netperf dropped getrusage-only CPU for this reason).
public struct CPUSample: Equatable, Sendable {
    public var processUserNanoseconds: UInt64
    public var processSystemNanoseconds: UInt64
    /// Host-wide time, summed over all CPUs.
    public var hostBusyNanoseconds: UInt64
    public var hostSoftirqNanoseconds: UInt64
    public var hostTotalNanoseconds: UInt64

    public static func now() -> CPUSample {
        var usage = rusage()
        _ = try? Syscall.call { getrusage(RUSAGE_SELF.rawValue, &usage) }
        let text = (try? TextFile.read("/proc/stat")) ?? ""
        let host = HostCPU(procStat: text) ?? HostCPU(busy: 0, softirq: 0, total: 0)
        return CPUSample(
            processUserNanoseconds: nanoseconds(usage.ru_utime),
            processSystemNanoseconds: nanoseconds(usage.ru_stime),
            hostBusyNanoseconds: host.busy,
            hostSoftirqNanoseconds: host.softirq,
            hostTotalNanoseconds: host.total)
    }

    /// What happened between `earlier` and `self`.
    public func since(_ earlier: CPUSample) -> CPUUsage {
        func delta(_ a: UInt64, _ b: UInt64) -> Double { a >= b ? Double(a - b) / 1e9 : 0 }
        return CPUUsage(
            userSeconds: delta(processUserNanoseconds, earlier.processUserNanoseconds),
            systemSeconds: delta(processSystemNanoseconds, earlier.processSystemNanoseconds),
            hostBusySeconds: delta(hostBusyNanoseconds, earlier.hostBusyNanoseconds),
            hostSoftirqSeconds: delta(hostSoftirqNanoseconds, earlier.hostSoftirqNanoseconds),
            hostTotalSeconds: delta(hostTotalNanoseconds, earlier.hostTotalNanoseconds))
    }

    private static func nanoseconds(_ time: timeval) -> UInt64 {
        UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_usec) * 1000
    }
}

/// CPU seconds spent over a window.
public struct CPUUsage: Equatable, Sendable, Codable {
    public var userSeconds: Double
    public var systemSeconds: Double
    /// Host-wide busy, softirq and total time; nil where the end does not report
    /// them (an iperf3 peer reports its process's CPU only).
    public var hostBusySeconds: Double?
    public var hostSoftirqSeconds: Double?
    /// Busy + idle over all CPUs: the window × the number of CPUs.
    public var hostTotalSeconds: Double?

    public init(userSeconds: Double, systemSeconds: Double, hostBusySeconds: Double?, hostSoftirqSeconds: Double?, hostTotalSeconds: Double?) {
        self.userSeconds = userSeconds
        self.systemSeconds = systemSeconds
        self.hostBusySeconds = hostBusySeconds
        self.hostSoftirqSeconds = hostSoftirqSeconds
        self.hostTotalSeconds = hostTotalSeconds
    }

    public var processSeconds: Double { userSeconds + systemSeconds }

    /// Busy and softirq shares of the host's total time, where reported.
    public var hostShares: (busy: Double, softirq: Double)? {
        guard let busy = hostBusySeconds, let softirq = hostSoftirqSeconds, let total = hostTotalSeconds, total > 0 else { return nil }
        return (busy / total, softirq / total)
    }
}

/// The first line of /proc/stat: cumulative ticks per state, summed over CPUs.
struct HostCPU: Equatable {
    var busy: UInt64
    var softirq: UInt64
    var total: UInt64

    init(busy: UInt64, softirq: UInt64, total: UInt64) {
        self.busy = busy
        self.softirq = softirq
        self.total = total
    }

    /// `cpu  user nice system idle iowait irq softirq steal guest guest_nice`, in
    /// USER_HZ ticks (guest time is already inside user and nice).
    init?(procStat text: String, ticksPerSecond: Int = Int(sysconf(Int32(_SC_CLK_TCK)))) {
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") }) else { return nil }
        let fields = line.split(separator: " ").dropFirst().compactMap { UInt64($0) }
        guard fields.count >= 7, ticksPerSecond > 0 else { return nil }
        let tick = UInt64(1_000_000_000 / ticksPerSecond)
        let user = fields[0], nice = fields[1], system = fields[2], idle = fields[3], iowait = fields[4]
        let irq = fields[5], softirq = fields[6], steal = fields.count > 7 ? fields[7] : 0
        let busyTicks = user + nice + system + irq + softirq + steal
        self.busy = busyTicks * tick
        self.softirq = softirq * tick
        self.total = (busyTicks + idle + iowait) * tick
    }
}
