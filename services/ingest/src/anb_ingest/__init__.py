"""anb_ingest."""
