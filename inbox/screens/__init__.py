"""Modal screens of the inbox, one module each."""
