"""The predictors ``seqtasks.load`` returns, one class a file."""
