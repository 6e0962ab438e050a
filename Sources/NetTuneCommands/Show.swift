import ArgumentParser
import NetTune

extension NetTuneCommand {
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show TCP buffer sysctls and every interface's MTU, state and qdisc.",
            discussion: """
                Reads /proc/sys and netlink (libnl-route-3) of the current network \
                namespace. Needs no privileges.
                """
        )

        @Option(name: .long, help: ArgumentHelp("Only list this interface.", valueName: "name"), completion: Completions.interfaces)
        var interface: String?

        @OptionGroup var output: OutputOptions

        func run() throws {
            let overview = try NetworkOverview.read(
                sysctls: ProcSysStore(),
                links: NetlinkLinkController(),
                interface: interface
            )
            if output.json {
                print(try JSONOutput.encode(ShowJSON(overview)))
            } else {
                print(ShowTable.render(overview), terminator: "")
            }
        }
    }
}
