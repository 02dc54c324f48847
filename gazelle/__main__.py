"""`python -m gazelle ...`: the same command line as `gazelle ...` (see gazelle.cli). [top]"""
import sys

from gazelle.cli import main

if __name__ == "__main__":
    sys.exit(main())
