"""`python -m bee` entry point."""

from bee.cli import main

if __name__ == "__main__":
    main()
