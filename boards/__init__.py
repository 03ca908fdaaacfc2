"""Board tops and builds: the ULX3S-85F (``ulx3s.py``, ``build.py``); the iCEBreaker to come."""
