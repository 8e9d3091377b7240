"""``python -m aekit`` runs the command line, like the ``aekit`` script."""

from aekit.cli import main

if __name__ == "__main__":
    main()
