"""What vh-lite keeps on this machine about who you are: profiles, tokens, and which of them a
command uses."""
