"""Package data of cami_atlas (tables read with :mod:`importlib.resources`); see README.md."""
