import CNetlink
import Glibc
import SystemPackage

/// One TUN device this process owns. Packets the kernel routes to the device are
/// read from `fd`; bytes written to `fd` enter the kernel as if they had arrived
/// on it. The device exists while the descriptor is open and lives in the network
/// namespace the descriptor was opened in, so closing it (or exiting) removes it.
public struct TunDevice: Sendable {
    public let name: String
    public let fd: Int32
    /// Each packet carries a virtio-net header: the kernel hands over TCP
    /// segments of up to 64 KiB (TSO) with checksums left to the receiver, and
    /// accepts them back the same way, so the line moves a few large packets
    /// instead of many 1500-byte ones.
    public let offloads: Bool

    /// The virtio-net header's size on a TUN device (no mergeable buffers).
    public static let virtioHeaderSize = 10

    /// The largest read: a 64 KiB GSO packet plus its header, with room to spare.
    public static let maxPacket = 256 << 10

    /// Creates TUN device `name` inside the network namespace at `namespacePath`.
    public static func create(name: String, inNamespace namespacePath: String, offloads: Bool) throws -> TunDevice {
        guard !name.isEmpty, name.utf8.count < Int(IFNAMSIZ),
            name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "/") })
        else {
            throw TunError(device: name, step: .name, errno: .invalidArgument)
        }
        let fd: Int32 = try NetworkNamespace.perform(in: namespacePath) {
            do {
                return try Syscall.call { open("/dev/net/tun", O_RDWR | O_CLOEXEC) }
            } catch {
                throw TunError(device: name, step: .open, errno: Errno.from(error))
            }
        }
        var flags = IFF_TUN | IFF_NO_PI
        if offloads { flags |= IFF_VNET_HDR }
        do {
            try Syscall.call { cnl_tun_set_interface(fd, name, Int32(flags)) }
        } catch {
            Syscall.close(fd)
            throw TunError(device: name, step: .create, errno: error)
        }
        if offloads {
            do {
                try Syscall.call { cnl_tun_set_offload(fd, UInt32(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6)) }
            } catch {
                Syscall.close(fd)
                throw TunError(device: name, step: .offload, errno: error)
            }
        }
        Syscall.setNonBlocking(fd, true)
        return TunDevice(name: name, fd: fd, offloads: offloads)
    }

    /// One packet into `buffer`; nil when none is waiting.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int? {
        do {
            return try Syscall.call { Glibc.read(fd, buffer.baseAddress, buffer.count) }
        } catch .wouldBlock {
            return nil
        }
    }

    /// Hands one packet to the kernel.
    func write(_ packet: [UInt8]) throws(Errno) {
        do {
            _ = try packet.withUnsafeBytes { bytes in try Syscall.call { Glibc.write(fd, bytes.baseAddress, bytes.count) } }
        } catch {
            throw Errno.from(error)
        }
    }

    /// Closes the descriptor, which removes the device.
    public func close() { Syscall.close(fd) }
}

/// A TUN device that could not be made.
public struct TunError: Error, Equatable, CustomStringConvertible {
    public enum Step: Equatable, Sendable { case name, open, create, offload }
    public var device: String
    public var step: Step
    public var errno: Errno

    public var description: String {
        switch (step, errno) {
        case (.name, _):
            return "'\(device)' is not a usable interface name (1-15 printable characters, no '/' or spaces)"
        case (.open, .noSuchFileOrDirectory), (.open, .noSuchAddressOrDevice), (.open, .operationNotSupportedByDevice):
            return "no /dev/net/tun: this kernel has no TUN driver loaded; run `modprobe tun`"
        case (_, .notPermitted), (_, .permissionDenied):
            return "creating the TUN device \(device) needs CAP_NET_ADMIN: run as root"
        case (.create, .resourceBusy), (.create, .fileExists):
            return "an interface named \(device) already exists in that namespace; pick another name"
        case (.open, _):
            return "cannot open /dev/net/tun for \(device): \(errno)"
        case (.create, _):
            return "cannot create the TUN device \(device) (TUNSETIFF): \(errno)"
        case (.offload, _):
            return "the TUN device \(device) refused segmentation offloads (TUNSETOFFLOAD): \(errno); try --no-offloads"
        }
    }
}
