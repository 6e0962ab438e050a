import NetTune
import NetTuneCommands

SignalMask.unblockTermination()
SignalMask.ignoreBrokenPipe()
DelayLineCommand.runMain()
