/// How the sender moves the file into the socket.
public enum ProbeMethod: String, CaseIterable, Sendable, Codable {
    /// sendfile(2): file pages go to the socket inside the kernel.
    case sendfile
    /// splice(2): file → pipe → socket, also without a user-space copy.
    case splice
    /// read(2) into a buffer, write(2) to the socket: every byte crosses user space.
    case readwrite

    /// Code on the wire.
    var code: UInt8 {
        switch self {
        case .sendfile: return 1
        case .splice: return 2
        case .readwrite: return 3
        }
    }

    init?(code: UInt8) {
        guard let method = Self.allCases.first(where: { $0.code == code }) else { return nil }
        self = method
    }
}
