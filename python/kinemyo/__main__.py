"""``python -m kinemyo`` runs the command-line interface."""

from kinemyo.cli import main

if __name__ == "__main__":
    main()
