"""The command line at the edge: arguments, the prompt flow, the commands, the error handler."""
