import NetTune
import NetTuneCommands

SignalMask.unblockTermination()
NetTuneCommand.main()
