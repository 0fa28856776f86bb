"""What vh-lite keeps on this machine about who you are: profiles (config.py), tokens
(credentials.py), which of them a command uses (session.py), and the private files and
directories they live in (files.py)."""
