"""Entry point for ``python -m subgen``."""

from subgen.cli import main

if __name__ == "__main__":
    main()
