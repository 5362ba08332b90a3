"""anb_gateway."""
