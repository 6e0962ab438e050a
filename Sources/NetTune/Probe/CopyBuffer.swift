extension UnsafeMutableRawBufferPointer {
    /// The read/write sender's buffer, which the kernel copies a file's page-cache
    /// pages into (`read`) and out of into the socket (`write`): it starts on a page.
    ///
    /// malloc puts a buffer of 128 KiB or more 16 bytes past a page, and smaller
    /// ones anywhere 16-aligned. Behind a 1 Gbit/s shaper, a read/write sender with
    /// such a buffer spent 1.5× the time in `_copy_to_iter` (`perf record`) and
    /// about 1.2× the CPU per GiB of `iperf3 -F`, whose buffer starts on a page.
    /// Page-aligned, or 64 bytes past a page, it was at par.
    ///
    /// The receivers' `recv` buffer keeps malloc's place. The same test on the
    /// unshaped veth (zero-copy `sendfile` pages arriving) found 16 bytes past a page
    /// the fastest: 34.8 Gbit/s, against 30.6 at 64 bytes past and 27.5 on the page,
    /// with the unchanged build at 32.5–33.3 beside each (6–8 interleaved runs).
    static func allocateForCopies(byteCount: Int) -> UnsafeMutableRawBufferPointer {
        .allocate(byteCount: byteCount, alignment: 4096)
    }
}
