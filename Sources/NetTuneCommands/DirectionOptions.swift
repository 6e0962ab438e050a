import ArgumentParser
import NetTune

/// Which way a probe measures, spelled as iperf3 spells it: `probe` and
/// `recommend` share it.
struct DirectionOptions: ParsableArguments {
    @Flag(name: [.customShort("R"), .long], help: "Receive instead: the server sends, this machine drains (iperf3's -R).")
    var reverse = false

    @Flag(name: .long, help: "Send and receive at once, one set of streams each way.")
    var bidir = false

    func validate() throws {
        if reverse && bidir { throw ValidationError("give either --reverse or --bidir") }
    }

    var direction: ProbeDirection { bidir ? .both : (reverse ? .receive : .send) }
}
