/// What a result read back from a file may hold. The history and the JSON that
/// `report` charts are read from outside — copied from a device, merged from a
/// fleet, edited by hand — so before nettune prints, charts or compares a figure
/// from one, the figure must be one a measurement could have produced.
public enum ResultLimits {
    /// Faster than any link a probe measures (10 Tbit/s).
    public static let bitsPerSecond = 1e13
    /// CPU-seconds per GiB: a GiB that took a day on a thousand busy CPUs.
    public static let cpuSecondsPerGiB = 1e8
    /// Bytes in one result: far beyond any probe's payload or run.
    public static let bytes = 1 << 60
    /// Seconds since 1970, through the last second of the year 9999.
    public static let time = 0...253_402_300_799
    /// Seconds within a run (an interval's start or end): a year.
    public static let runSeconds = 0.0...31_622_400
    /// Runs in one result, and intervals in one run.
    public static let runs = 100_000
    public static let intervals = 1_000_000

    public static func isRate(_ value: Double) -> Bool { value.isFinite && value >= 0 && value <= bitsPerSecond }
    public static func isCPUPerGiB(_ value: Double) -> Bool { value.isFinite && value >= 0 && value <= cpuSecondsPerGiB }
}
