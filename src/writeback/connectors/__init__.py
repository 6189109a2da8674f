"""Provider connectors: one package per provider behind the small contract in `contract.py`."""
