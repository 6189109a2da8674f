"""writeback: a self-hosted write-actions engine (Ampersand Write API compatible)."""

__version__ = "0.1.0"
