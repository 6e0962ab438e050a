import NetTune
import NetTuneCommands

SignalMask.unblockTermination()
SignalMask.ignoreBrokenPipe()
NetTuneCommand.runMain()
