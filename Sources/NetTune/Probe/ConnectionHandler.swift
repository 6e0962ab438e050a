/// One accepted connection: its first message says what it is.
struct ConnectionHandler {
    let shared: ServerShared
    let connection: TCPConnection
    /// Its place in the accept order.
    let sequence: UInt64

    var configuration: ProbeServer.Configuration { shared.configuration }

    func run() {
        let reader = MessageReader(connection: connection, endpoint: connection.endpoint, peerIsServer: false)
        // An iperf3 client's cookie, or nettune's frame ("NTP…"): the first bytes tell.
        let head: [UInt8]
        do {
            head = try reader.peek(4, deadline: shared.deadline(after: configuration.headerTimeout))
        } catch {
            shared.log(noRequest(error))
            return
        }
        if IperfWire.couldBeCookie(head[...]) {
            runIperf(reader)
            return
        }
        let first: ProbeMessage
        do {
            first = try reader.next(deadline: shared.deadline(after: configuration.headerTimeout), waiting: "the first message")
        } catch is ProbeVersionMismatch {
            // An older nettune: tell it, in its own format, which versions each side speaks.
            try? connection.sendAll(
                LegacyWire.refusal(
                    "this server speaks probe protocol \(ProbeWire.version) (nettune \(NetTuneVersion.current)); upgrade nettune on the client"),
                deadline: .after(.seconds(1)))
            var event = ProbeServer.Event(peer: connection.endpoint.description)
            event.outcome = .refused(.versionMismatch, "a client speaking probe protocol 1")
            shared.log(event)
            return
        } catch let error as ProbeProtocolError {
            // Not a nettune client: say so in our protocol (a person trying `nc` sees
            // it), then hang up.
            try? connection.sendAll(
                ProbeMessage.refused(RefusedMessage(status: .badRequest, message: "not a nettune probe: \(error.detail)")).encoded(),
                deadline: .after(.seconds(1)))
            var event = ProbeServer.Event(peer: connection.endpoint.description)
            event.outcome = .refused(.badRequest, "not a nettune probe: \(error.detail)\(error.whatItSent)")
            shared.log(event)
            return
        } catch {
            shared.log(noRequest(error))
            return
        }
        switch first {
        case .request(let request):
            shared.log(ServerSession(shared: shared, control: connection, reader: reader, request: request).run())
        case .data(let session, let stream):
            shared.registry.deliver(connection, session: session, stream: stream)
        default:
            var event = ProbeServer.Event(peer: connection.endpoint.description)
            event.outcome = .failed("a connection that began with a message out of turn")
            shared.log(event)
        }
    }

    /// The log's line for a connection that sent no request.
    func noRequest(_ error: any Error) -> ProbeServer.Event {
        var event = ProbeServer.Event(peer: connection.endpoint.description)
        if let signal = (error as? Interrupted)?.signalName {
            event.outcome = .failed("the server was stopped (\(signal)) before the client's request")
        } else {
            event.outcome = .failed("no probe request within \(TimeSpan.format(configuration.headerTimeout)): \(error)")
        }
        return event
    }
}

extension ConnectionHandler {
    /// An iperf3 connection: a data stream of a test under way, or a new test.
    func runIperf(_ reader: MessageReader) {
        guard let head = try? reader.peek(IperfWire.cookieSize, deadline: shared.deadline(after: configuration.headerTimeout)),
            IperfWire.isCookie(Array(head.prefix(IperfWire.cookieSize)))
        else {
            if let signal = shared.halt.signal {
                var event = noRequest(Interrupted(signal: signal))
                event.peerProtocol = .iperf3
                shared.log(event)
                return
            }
            var event = ProbeServer.Event(peer: connection.endpoint.description)
            event.peerProtocol = .iperf3
            event.outcome = .failed("a connection that began like an iperf3 cookie but was not one")
            shared.log(event)
            return
        }
        let cookie = reader.take(IperfWire.cookieSize)
        switch shared.iperfRegistry.deliver(connection, cookie: cookie, sequence: sequence) {
        case .delivered:
            return
        case .unwanted:
            // A stream beyond those announced, or from elsewhere: iperf3 says ACCESS_DENIED.
            try? connection.sendAll([IperfState.accessDenied.byte], deadline: .after(.seconds(1)))
            return
        case .unknown:
            let control = IperfControl(connection: connection, peer: connection.endpoint.description, buffered: reader.take(reader.bufferedCount))
            shared.log(IperfServerSession(shared: shared, control: control, cookie: cookie).run())
        }
    }
}
