import NetTune
import NetTuneCommands

// Before anything opens a descriptor: see `StandardStreams`.
StandardStreams.openMissing()
SignalMask.unblockTermination()
SignalMask.ignoreBrokenPipe()
NetTuneCommand.runMain()
