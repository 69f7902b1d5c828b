"""Stage ⑥: the web layer (Flask blueprints). Nothing here computes events; it reads the store."""
