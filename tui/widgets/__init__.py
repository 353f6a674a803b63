"""Small widgets the screens are built from; each posts messages rather than reaching across."""
