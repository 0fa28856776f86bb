"""Writing records in every output format (render.py) and the streamed table (table.py)."""
