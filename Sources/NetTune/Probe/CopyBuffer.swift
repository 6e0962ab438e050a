/// A buffer the kernel copies bulk bytes into and out of, placed at a chosen
/// distance from a page boundary.
///
/// Where such a buffer starts against the pages it is copied from or to sets the
/// speed of the kernel's copy (`rep movsb` in `_copy_to_iter`/`_copy_from_iter`):
/// when source and destination sit at certain distances modulo 4 KiB, the CPU's
/// loads wait on its earlier stores. malloc puts a buffer of 128 KiB or more
/// 16 bytes past a page, which measured slow for the read/write sender on both
/// hosts tried, and for the receiver on the second (README, "Performance"), so
/// each user says where its buffer goes.
final class CopyBuffer {
    enum Placement {
        /// On a page: the read/write sender's buffer, which `pread` fills from the
        /// file's page-cache pages and `write` empties into the socket. Behind a
        /// 1 Gbit/s shaper, 16 bytes past a page cost 1.5× the time in
        /// `_copy_to_iter` and 1.2× the CPU per GiB of `iperf3 -F`, whose buffer
        /// starts on a page; on a page it was at par. On the AMD EPYC host, 16 bytes
        /// past a page halved its throughput (7.6 against 14.8 Gbit/s); half a
        /// page past was no better than on a page.
        case pageStart
        /// Half a page past a page: the `recv` drain's buffer, which the kernel
        /// fills from the sender's pages (a zero-copy sender's page-cache pages
        /// arrive as they are). On the AMD EPYC host, `-R` from a 128 KiB file on
        /// the veth: 16 bytes past a page (malloc's place) moved 9.6–10.5 Gbit/s at
        /// 0.80–0.84 s/GiB of receiver CPU, on a page 18.2 at 0.30, 64 bytes past
        /// 21.0 at 0.29, half a page past 21.5–23.0 at 0.22–0.23; with four streams
        /// half a page past was among the fastest (38.7–41.3 Gbit/s) and 64 bytes
        /// past the slowest (19.9) (interleaved, README "Performance"). The earlier
        /// host had found 16 bytes past the fastest for `-R` (34.8 Gbit/s, against
        /// 27.5 on a page); half a page past was not tried there.
        case halfPage

        var offset: Int {
            switch self {
            case .pageStart: 0
            case .halfPage: Self.page / 2
            }
        }

        static let page = 4096
    }

    /// The usable bytes, `byteCount` of them, starting at the placement.
    let bytes: UnsafeMutableRawBufferPointer
    private let storage: UnsafeMutableRawBufferPointer

    init(byteCount: Int, placement: Placement) {
        let count = max(0, byteCount)
        let offset = placement.offset
        storage = .allocate(byteCount: count + offset, alignment: Placement.page)
        bytes = UnsafeMutableRawBufferPointer(rebasing: storage[offset..<(offset + count)])
    }

    deinit {
        storage.deallocate()
    }
}
