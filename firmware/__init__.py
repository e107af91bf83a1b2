"""Image compiler and host driver of the glocal chip."""
