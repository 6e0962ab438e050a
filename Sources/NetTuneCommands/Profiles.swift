import ArgumentParser
import NetTune

extension NetTuneCommand {
    struct Profiles: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the tuning profiles nettune can find, or show one resolved.",
            subcommands: [List.self, Show.self],
            defaultSubcommand: List.self
        )
    }
}

extension NetTuneCommand.Profiles {
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List profiles on the search path: name, description, where from."
        )

        @OptionGroup var profiles: ProfileOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let library = profiles.library
            let entries = library.entries()
            if output.json {
                print(try JSONOutput.encode(entries.map(ProfileEntryJSON.init)))
            } else {
                print(ProfileOutput.renderList(entries, searchPath: library.searchPath), terminator: "")
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a profile with its includes merged, and where each value comes from."
        )

        @Argument(help: ArgumentHelp("A profile name or a path to a .toml file.", valueName: "profile"), completion: Completions.profiles)
        var profile: String

        @OptionGroup var profiles: ProfileOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let resolved = try profiles.library.resolve(profile)
            if output.json {
                print(try JSONOutput.encode(ProfileJSON(resolved)))
            } else {
                print(ProfileOutput.renderResolved(resolved), terminator: "")
            }
        }
    }
}
