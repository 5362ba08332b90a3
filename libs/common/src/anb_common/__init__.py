"""anb_common."""
