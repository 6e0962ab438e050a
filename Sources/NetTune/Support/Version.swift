/// nettune's version: the one place it is written. `nettune --version`, the man
/// page, probe results and the wire protocol's hello all read it from here.
public enum NetTuneVersion {
    public static let current = "0.1.0"
}
