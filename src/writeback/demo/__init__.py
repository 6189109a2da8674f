"""The demo: two customers on the sandbox, and the write-actions docs' examples run for real."""
