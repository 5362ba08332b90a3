"""anb_devstack."""
