/// One measured transfer.
public struct RunResult: Sendable, Equatable {
    public var method: ProbeMethod
    /// Payload bytes the receiver counted.
    public var bytes: UInt64
    /// From the first payload byte sent to the receiver's confirmation of the last.
    public var seconds: Double
    public var sender: CPUUsage
    public var receiver: CPUUsage
    /// The sender's TCP_INFO at the end of the transfer.
    public var tcpInfo: TCPInfo
    public var intervals: [Interval]
    public var congestion: String?
    /// SO_SNDBUF of the sender's socket at the end (read, never set).
    public var sendBufferBytes: Int
    /// SO_RCVBUF of the receiver's socket when it was accepted.
    public var receiveBufferBytes: Int

    public var throughputBitsPerSecond: Double { seconds > 0 ? Double(bytes) * 8 / seconds : 0 }

    /// CPU-seconds per GiB moved ("service demand", as netperf calls it), from the
    /// process's own getrusage: the meter iperf3 uses.
    public var senderCPUSecondsPerGiB: Double { perGiB(sender.processSeconds) }
    public var receiverCPUSecondsPerGiB: Double { perGiB(receiver.processSeconds) }

    private func perGiB(_ seconds: Double) -> Double {
        bytes > 0 ? seconds / (Double(bytes) / Double(1 << 30)) : 0
    }
}

/// Bytes acknowledged by the receiver during one interval of a run.
public struct Interval: Sendable, Equatable {
    public var start: Double
    public var end: Double
    public var bytes: UInt64

    public var bitsPerSecond: Double { end > start ? Double(bytes) * 8 / (end - start) : 0 }
}

/// Everything `nettune probe` measured.
public struct ProbeReport: Sendable, Equatable {
    public var peer: Endpoint
    public var methods: [ProbeMethod]
    public var payloadBytes: Int
    public var payloadPath: String
    public var kernel: String
    public var congestion: String?
    public var egressInterface: String?
    public var mtu: Int?
    public var runs: [RunResult]
    /// The sending machine's facts for `diagnosis(of:)`.
    public var context: DiagnosisContext = DiagnosisContext()

    public func runs(of method: ProbeMethod) -> [RunResult] { runs.filter { $0.method == method } }

    /// Medians over the runs of one method.
    public struct Summary: Sendable, Equatable {
        public var throughputBitsPerSecondMedian: Double
        public var senderCPUSecondsPerGiBMedian: Double
        public var receiverCPUSecondsPerGiBMedian: Double
    }

    /// The diagnosis of the method's median-throughput run.
    public func diagnosis(of method: ProbeMethod) -> Diagnosis? {
        let sorted = runs(of: method).sorted { $0.throughputBitsPerSecond < $1.throughputBitsPerSecond }
        guard !sorted.isEmpty else { return nil }
        return Diagnoser.diagnose(sorted[sorted.count / 2], context: context)
    }

    public func summary(of method: ProbeMethod) -> Summary? {
        let selected = runs(of: method)
        guard let throughput = Statistics.median(selected.map(\.throughputBitsPerSecond)),
              let sender = Statistics.median(selected.map(\.senderCPUSecondsPerGiB)),
              let receiver = Statistics.median(selected.map(\.receiverCPUSecondsPerGiB))
        else { return nil }
        return Summary(throughputBitsPerSecondMedian: throughput, senderCPUSecondsPerGiBMedian: sender,
                       receiverCPUSecondsPerGiBMedian: receiver)
    }
}
