"""`python -m sre_lab`: the same CLI as the `sre-lab` console script."""

from sre_lab.cli import app

if __name__ == "__main__":
    app(prog_name="sre-lab")
