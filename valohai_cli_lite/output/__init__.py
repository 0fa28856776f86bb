"""Writing records for people and programs: every output format (render.py) and the streamed
table (table.py)."""
