"""Operations (one per write request) and their logs."""
