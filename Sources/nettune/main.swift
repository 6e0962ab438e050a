import NetTuneCommands

NetTuneCommand.main()
