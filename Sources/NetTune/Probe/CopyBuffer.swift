extension UnsafeMutableRawBufferPointer {
    /// A buffer the kernel copies bytes into and out of (`read`, `write`, `recv`),
    /// starting on a page.
    ///
    /// malloc puts a buffer of 128 KiB or more at a page plus 16 bytes (and smaller
    /// ones anywhere 16-aligned). The kernel's copies into such a buffer were
    /// measurably slower. A read/write sender behind a 1 Gbit/s shaper spent 1.5× the
    /// time in `_copy_to_iter` (`perf record`) and 1.2× the CPU per GiB of
    /// `iperf3 -F`, whose buffer starts on a page. Page-aligned, it was at par
    /// (README, "Performance").
    static func allocateForCopies(byteCount: Int) -> UnsafeMutableRawBufferPointer {
        .allocate(byteCount: byteCount, alignment: 4096)
    }
}
