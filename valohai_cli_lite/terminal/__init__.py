"""The terminal and the standard streams: IOStreams (their one owner), pager, prompts, progress."""
