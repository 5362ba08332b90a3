"""anb_cli."""
