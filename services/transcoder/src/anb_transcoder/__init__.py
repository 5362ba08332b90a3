"""anb_transcoder."""
