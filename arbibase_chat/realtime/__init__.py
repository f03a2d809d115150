"""The one realtime path: services' post-commit events → this worker's hub → sessions."""
