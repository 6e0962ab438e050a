import CNetlink

/// A libnl call that returned a negative error code.
public struct NetlinkError: Error, CustomStringConvertible, Equatable {
    /// The libnl call that failed, e.g. `rtnl_link_change`.
    public let operation: String
    /// libnl's own error code (`NLE_*`), positive.
    public let code: Int32
    /// What the change concerned, e.g. `eth0`, if anything.
    public let subject: String?

    public init(operation: String, code: Int32, subject: String? = nil) {
        self.operation = operation
        self.code = code
        self.subject = subject
    }

    /// `nl_geterror`'s text.
    public var message: String {
        guard let text = nl_geterror(-code) else { return "libnl error \(code)" }
        return String(cString: text)
    }

    public var isPermissionDenied: Bool { code == NLE_PERM || code == NLE_NOACCESS }

    public var description: String {
        let on = subject.map { " on \($0)" } ?? ""
        if isPermissionDenied {
            return "\(operation)\(on) needs root (CAP_NET_ADMIN); run with sudo"
        }
        return "\(operation)\(on) failed: \(message)"
    }
}

/// The one seam every libnl call that returns an error code goes through.
@discardableResult
func nlCall(_ operation: String, subject: String? = nil, _ body: () -> Int32) throws(NetlinkError) -> Int32 {
    let result = body()
    if result < 0 { throw NetlinkError(operation: operation, code: -result, subject: subject) }
    return result
}
