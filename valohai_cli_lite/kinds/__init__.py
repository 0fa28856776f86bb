"""Each kind of API object (kind.py: fields, columns, sort keys, filters, how one is found)
and what works on any kind: --fields (fields.py) and filter/sort/limit (query.py)."""
