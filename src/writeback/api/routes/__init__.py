"""One router module per control-plane resource."""
