"""The e-mail bridge (issue #12): what is not a service rule."""
