"""`keras.version()`. [L0: stdlib only]"""


def version():
    """Returns gazelle's version string (the same as `keras.__version__`)."""
    from gazelle import __version__
    return __version__
