"""The terminal and the standard streams: IOStreams (the one owner of stdin/stdout/stderr), the
pager, prompts and the progress bar."""
