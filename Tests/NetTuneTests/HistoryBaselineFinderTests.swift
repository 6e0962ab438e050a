import Foundation
import Testing

@testable import NetTune

@Suite struct HistoryBaselineFinderTests {
    let helpers = HistoryTests()

    func entry(
        peer: String = "10.0.0.2:9000", address: String? = nil, method: ProbeMethod = .sendfile, direction: ProbeDirection = .send,
        streams: Int = 1, wmem: String, time: Int
    ) -> HistoryEntry {
        // As a probe makes it: the fingerprint names the peer as it was typed.
        var fingerprint = helpers.fingerprint(wmem)
        fingerprint.peer = peer
        var entry = HistoryEntry(
            report: helpers.report([1e9 + Double(time)], peer: peer), method: .sendfile, fingerprint: fingerprint, time: time)
        entry.method = method.rawValue
        entry.direction = direction == .receive ? "receive" : "send"
        entry.streams = streams
        entry.address = address
        return entry
    }

    func line(_ entry: HistoryEntry, editing edit: (inout [String: Any]) -> Void = { _ in }) throws -> String {
        var object = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(entry)) as? [String: Any])
        edit(&object)
        return String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    /// The definition the finder must keep: the last entry, of those that decode
    /// whole, with the same peer, method, direction and streams under other tuning.
    func scan(_ entries: [HistoryEntry], for current: HistoryEntry) -> HistoryEntry? {
        entries.last {
            $0.samePeer(as: current) && $0.method == current.method && $0.direction == current.direction
                && $0.streams == current.streams && !$0.fingerprint.sameTuning(as: current.fingerprint)
        }
    }

    /// `localhost:9000` then `127.0.0.1:9000` with nothing tuned in between: one server,
    /// one tuning, two fingerprint ids (the id covers the name). The second probe was
    /// compared with the first as "under fingerprint …" (-47.8 %, in a namespace here).
    @Test func theSameServerByAnotherNameIsNotABaseline() throws {
        let byName = entry(peer: "localhost:9000", address: "127.0.0.1", wmem: "4096 16384 4194304", time: 2)
        let older = entry(peer: "127.0.0.1:9000", address: "127.0.0.1", wmem: "4096 4096 4096", time: 1)
        #expect(byName.fingerprintID != entry(peer: "127.0.0.1:9000", wmem: "4096 16384 4194304", time: 3).fingerprintID)
        var finder = HistoryBaselineFinder(lines: try [older, byName].map { ArraySlice(try line($0).utf8) })
        // Passed over for the older entry, which ran under other tuning.
        #expect(finder.baseline(for: entry(peer: "127.0.0.1:9000", address: "127.0.0.1", wmem: "4096 16384 4194304", time: 3))?.time == 1)
    }

    /// A mixed history (peers by name and by address, methods, directions, streams,
    /// tunings, damaged lines): every query finds what a scan of every entry finds.
    @Test func findsWhatAScanOfEveryEntryFinds() throws {
        let peers: [(String, String?)] = [("nas.lan:9000", "10.0.0.2"), ("10.0.0.2:9000", "10.0.0.2"), ("10.0.0.3:9000", nil)]
        let wmems = ["4096 4096 4096", "4096 16384 4194304", "4096 65536 16777216"]
        var generator = SplitMix64(state: 7)
        var lines: [String] = []
        var whole: [HistoryEntry] = []
        for time in 0..<200 {
            let (peer, address) = peers[Int(generator.next() % 3)]
            let made = entry(
                peer: peer, address: address, method: generator.next() % 2 == 0 ? .sendfile : .readwrite,
                direction: generator.next() % 2 == 0 ? .send : .receive, streams: generator.next() % 2 == 0 ? 1 : 4,
                wmem: wmems[Int(generator.next() % 3)], time: time)
            switch generator.next() % 10 {
            case 0: lines.append("{not json")
            // Its identity decodes, the whole entry does not: skipped like a damaged line.
            case 1: lines.append(try line(made) { $0["throughput_bps"] = "fast" })
            default:
                lines.append(try line(made))
                whole.append(made)
            }
        }
        var finder = HistoryBaselineFinder(lines: lines.map { ArraySlice($0.utf8) })
        var found = 0
        for (peer, address) in peers {
            for method in [ProbeMethod.sendfile, .readwrite] {
                for direction in [ProbeDirection.send, .receive] {
                    for streams in [1, 4] {
                        for wmem in wmems {
                            let query = entry(
                                peer: peer, address: address, method: method, direction: direction, streams: streams, wmem: wmem,
                                time: 1000)
                            let expected = scan(whole, for: query)
                            #expect(finder.baseline(for: query) == expected)
                            if expected != nil { found += 1 }
                        }
                    }
                }
            }
        }
        #expect(found > 50)  // the history is mixed enough for most queries to have a baseline
    }

    /// Entries from before directions and streams were kept are one stream sent.
    @Test func anOldEntryIsOneStreamSent() throws {
        let old = entry(wmem: "4096 4096 4096", time: 1)
        let text = try line(old) {
            $0["direction"] = nil
            $0["streams"] = nil
        }
        var finder = HistoryBaselineFinder(lines: [ArraySlice(text.utf8)])
        #expect(finder.baseline(for: entry(wmem: "4096 16384 4194304", time: 2))?.time == 1)
        #expect(finder.baseline(for: entry(streams: 4, wmem: "4096 16384 4194304", time: 2)) == nil)
        #expect(finder.baseline(for: entry(direction: .receive, wmem: "4096 16384 4194304", time: 2)) == nil)
    }
}
