extension HistoryEntry {
    /// What makes a decoded line impossible as a nettune result; empty when it
    /// could be one. A history file is read from outside (copied from a device,
    /// merged from a fleet, edited by hand): a line that fails here is skipped like
    /// a damaged one, so no table, metric, chart or comparison ever sees its figures.
    func implausibilities() -> [String] {
        var problems: [String] = []
        if !ResultLimits.time.contains(time) { problems.append("time \(time)") }
        if !PeerText.isClean(peer, limit: 300) || (try? Endpoint(parsing: peer)) == nil { problems.append("peer") }
        if ProbeMethod(rawValue: method) == nil { problems.append("method") }
        if direction != "send" && direction != "receive" { problems.append("direction") }
        if !(1...ProbeWire.maxStreams).contains(streams) { problems.append("streams \(streams)") }
        if !(0...ResultLimits.bytes).contains(bytes) { problems.append("bytes \(bytes)") }
        let runs = throughputs.count
        if runs > ResultLimits.runs || !throughputs.allSatisfy(ResultLimits.isRate) { problems.append("throughput_bps") }
        // One figure per run, in every list.
        if senderCPUSecondsPerGiB.count != runs || !senderCPUSecondsPerGiB.allSatisfy(ResultLimits.isCPUPerGiB) {
            problems.append("sender_cpu_s_per_gib")
        }
        if receiverCPUSecondsPerGiB.count != runs || !receiverCPUSecondsPerGiB.allSatisfy(ResultLimits.isCPUPerGiB) {
            problems.append("receiver_cpu_s_per_gib")
        }
        if let retransmits, retransmits.count != runs || retransmits.contains(where: { $0 < 0 }) { problems.append("retransmits") }
        // A bottleneck a later version names is kept, if it is a name.
        if let bottleneck, !Self.isName(bottleneck) { problems.append("bottleneck") }
        if fingerprintID.isEmpty || fingerprintID.count > 16 || !fingerprintID.allSatisfy(\.isHexDigit) { problems.append("fingerprint_id") }
        if let address, !PeerText.isClean(address, limit: 64) { problems.append("address") }
        problems += fingerprint.implausibilities()
        return problems
    }

    static func isName(_ text: String) -> Bool {
        (1...64).contains(text.count) && text.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
    }
}

extension TuningFingerprint {
    func implausibilities() -> [String] {
        var problems: [String] = []
        let texts = [interface, kernel, peer].compactMap { $0 } + profiles
        if sysctls.count > 512 || !sysctls.allSatisfy({ PeerText.isClean($0.key, limit: 256) && PeerText.isClean($0.value, limit: 1_024) }) {
            problems.append("fingerprint sysctls")
        }
        if profiles.count > 64 || !texts.allSatisfy({ PeerText.isClean($0, limit: 300) }) { problems.append("fingerprint text") }
        if let mtu, !(0...(1 << 20)).contains(mtu) { problems.append("fingerprint mtu") }
        if let remote, !remote.isPlausible { problems.append("fingerprint remote") }
        return problems
    }
}

extension TuningState {
    /// Printable text and no negative size, as a result file may say it.
    var isPlausible: Bool {
        let texts = [tcpWmem, tcpRmem, congestion, interface, kernel, version, qdisc, defaultQdisc].compactMap { $0 }
        let numbers = [wmemMax, rmemMax, mtu, shapingRate, linkSpeed].compactMap { $0 }
        return texts.allSatisfy { PeerText.isClean($0, limit: 300) } && numbers.allSatisfy { $0 >= 0 }
    }
}
